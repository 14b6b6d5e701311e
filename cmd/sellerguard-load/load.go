package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// An op is one unit of work of one worker: an HTTP exchange or a hash.
type op func() error

// Stats is the outcome of one measurement (all its slices together).
type Stats struct {
	Completed  int           // successful operations that finished inside the window
	Total      int           // successful operations, including those that finished after the window
	Errors     int           // failed operations (transport error or unexpected status), warm-up included
	FirstError string        // the first failure, for the report
	Window     time.Duration // length of the measurement window (sum of its slices)
	Throughput float64       // operations per second of window (see runSlice)
	P50, P99   time.Duration // latency of successful operations
	Max        time.Duration
	// CPUUtil is the CPU time of the server process and of the load
	// client (this process) while measuring, divided by wall time × CPUs:
	// near 1 means the measurement had the machine's cores; well below 1
	// in a CPU-bound phase means something else on the machine took them
	// (or the phase waited on I/O).
	CPUUtil float64
	// ServerCPUUtil and ClientCPUUtil are the two parts of CPUUtil.
	ServerCPUUtil, ClientCPUUtil float64
	// ServerCPUPerOp is the server process's CPU time per successful
	// operation (tail included). Unlike throughput it does not fall when
	// another process takes the cores, so it is the steadier figure on a
	// shared machine; it does not see time spent waiting (fsync, locks),
	// which throughput does. For the raw Argon2id baseline the "server" is
	// the hashing goroutines in this process.
	ServerCPUPerOp time.Duration
	// ClientCPUPerOp is the load client's CPU time per operation (0 when
	// the baseline runs in the harness process itself).
	ClientCPUPerOp time.Duration
	// WarmupOps is the number of operations of the warm-up before the window
	// (to turn a CPU profile, which covers warm-ups too, into per-request
	// figures).
	WarmupOps int
}

// measurement describes one target's load.
type measurement struct {
	concurrency int
	warmup      time.Duration
	duration    time.Duration
	maxOps      int                 // bound on operations in the measured phase (split evenly over workers)
	serverPID   int                 // the server's process, for its CPU time; inProcess: the work runs in this process
	labels      pprof.LabelSet      // CPU-profile labels of the worker goroutines
	newOp       func(worker int) op // builds worker i's operation
}

// load is one target's workers, kept across warm-up and slices so that
// they reuse the same keep-alive connections.
type load struct {
	m    measurement
	ops  []op
	bufs [][]time.Duration // per worker, preallocated: no growth while measuring

	warmed    bool
	warmupOps int
	done      float64 // operations finished in windows, with fractions (see runSlice)
	completed int
	errors    int
	firstErr  string
	window    time.Duration
	cpu, wall time.Duration
	srvCPU    time.Duration
}

func newLoad(m measurement) *load {
	l := &load{m: m, ops: make([]op, m.concurrency), bufs: make([][]time.Duration, m.concurrency)}
	perWorker := max(1, m.maxOps/m.concurrency)
	for i := range l.ops {
		l.ops[i] = m.newOp(i)
		l.bufs[i] = make([]time.Duration, 0, perWorker)
	}
	return l
}

// warm runs the warm-up: the same load, not counted (but failures are).
func (l *load) warm(ctx context.Context) {
	l.warmed = true
	if l.m.warmup <= 0 {
		return
	}
	r := runSlice(ctx, l.ops, l.bufs, l.m.warmup, l.m.labels, l.m.serverPID)
	for i := range l.bufs {
		l.warmupOps += len(l.bufs[i])
		l.bufs[i] = l.bufs[i][:0]
	}
	l.warmupOps += r.errors
	l.addErrors(r)
}

func (l *load) addErrors(r sliceResult) {
	l.errors += r.errors
	if l.firstErr == "" && r.firstErr != nil {
		l.firstErr = r.firstErr.Error()
	}
}

// slice runs one measured slice of length d; latencies accumulate.
func (l *load) slice(ctx context.Context, d time.Duration) {
	if !l.warmed {
		l.warm(ctx)
	}
	r := runSlice(ctx, l.ops, l.bufs, d, l.m.labels, l.m.serverPID)
	l.addErrors(r)
	l.done += r.done
	l.completed += r.completed
	l.window += r.window
	l.cpu += r.cpu
	l.srvCPU += r.srvCPU
	l.wall += r.wall
}

func (l *load) stats() Stats {
	s := Stats{Completed: l.completed, Errors: l.errors, FirstError: l.firstErr, Window: l.window, WarmupOps: l.warmupOps}
	if l.window > 0 {
		s.Throughput = l.done / l.window.Seconds()
	}
	for _, b := range l.bufs {
		s.Total += len(b)
	}
	srv, cli := l.srvCPU, l.cpu
	if l.m.serverPID == inProcess {
		srv, cli = l.cpu, 0
	}
	if l.wall > 0 {
		share := func(d time.Duration) float64 { return d.Seconds() / (l.wall.Seconds() * float64(runtime.NumCPU())) }
		s.ServerCPUUtil, s.ClientCPUUtil = share(srv), share(cli)
		s.CPUUtil = s.ServerCPUUtil + s.ClientCPUUtil
	}
	if s.Total > 0 {
		s.ServerCPUPerOp, s.ClientCPUPerOp = srv/time.Duration(s.Total), cli/time.Duration(s.Total)
	}
	all := make([]time.Duration, 0, s.Total)
	for _, b := range l.bufs {
		all = append(all, b...)
	}
	slices.Sort(all)
	s.P50, s.P99 = percentile(all, 0.50), percentile(all, 0.99)
	if len(all) > 0 {
		s.Max = all[len(all)-1]
	}
	return s
}

// measurePair measures two targets for m.duration each. With slices == 1
// that is: warm-up and window of the first, then warm-up and window of the
// second. With more slices each window is cut into that many parts that
// alternate ABBAAB…, so that a burst of other work on a shared machine
// falls on both targets alike; each target is warmed up just before its
// first slice and keeps its connections between slices.
func measurePair(ctx context.Context, first, second measurement, slices int) (Stats, Stats) {
	a, b := newLoad(first), newLoad(second)
	slices = max(slices, 1)
	d := first.duration / time.Duration(slices)
	for k := range slices {
		x, y := a, b
		if k%2 == 1 {
			x, y = b, a
		}
		x.slice(ctx, d)
		y.slice(ctx, d)
		if ctx.Err() != nil {
			break
		}
	}
	return a.stats(), b.stats()
}

type sliceResult struct {
	done      float64
	completed int
	errors    int
	firstErr  error
	window    time.Duration
	cpu, wall time.Duration // of this process
	srvCPU    time.Duration // of the server process
}

// inProcess as a measurement's serverPID: the measured work runs in this
// process (the raw Argon2id baseline).
const inProcess = -1

type workerResult struct {
	completed int
	partial   float64
	errors    int
	firstErr  error
	exit      time.Time
}

// runSlice runs one worker goroutine per op, each looping until the window
// of length d ends, its latency buffer is full, or ctx ends. An operation
// still in flight when the window closes is finished (and its latency
// recorded) and counts for the fraction of it that lay inside the window,
// so done / window is an unbiased rate whatever the length of one
// operation: a 50 ms sign-in and a 50 µs session check are counted alike,
// and short slices do not penalise the slower target.
func runSlice(ctx context.Context, ops []op, bufs [][]time.Duration, d time.Duration, labels pprof.LabelSet, serverPID int) sliceResult {
	c := len(ops)
	results := make([]workerResult, c)
	var stop atomic.Bool // set when ctx ends; cheaper to poll than ctx.Err
	defer context.AfterFunc(ctx, func() { stop.Store(true) })()
	var srv0 time.Duration
	if serverPID > 0 {
		srv0 = pidCPU(serverPID)
	}
	cpu0 := processCPU()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range c {
		wg.Go(func() {
			pprof.Do(ctx, labels, func(ctx context.Context) {
				// Locals, not results[i], in the loop: neighbouring workers
				// would otherwise share cache lines.
				var r workerResult
				lat := bufs[i]
				run := ops[i]
				for len(lat) < cap(lat) && !stop.Load() {
					t0 := time.Now()
					if !t0.Before(deadline) {
						break
					}
					err := run()
					t1 := time.Now()
					if err != nil {
						r.errors++
						if r.firstErr == nil {
							r.firstErr = err
						}
						// Do not spin on a dead server.
						if r.errors > 100 {
							break
						}
						continue
					}
					lat = append(lat, t1.Sub(t0))
					if !t1.After(deadline) {
						r.completed++
					} else {
						r.partial += float64(deadline.Sub(t0)) / float64(t1.Sub(t0))
					}
				}
				r.exit = time.Now()
				bufs[i] = lat
				results[i] = r
			})
		})
	}
	wg.Wait()
	var out sliceResult
	out.cpu = processCPU() - cpu0
	out.wall = time.Since(start)
	if serverPID > 0 {
		out.srvCPU = pidCPU(serverPID) - srv0
	}

	// The window ends at the deadline, or earlier if every worker stopped
	// early (operation bound, errors, cancellation).
	var lastExit time.Time
	for _, r := range results {
		out.completed += r.completed
		out.done += float64(r.completed) + r.partial
		out.errors += r.errors
		if r.firstErr != nil && out.firstErr == nil {
			out.firstErr = r.firstErr
		}
		if r.exit.After(lastExit) {
			lastExit = r.exit
		}
	}
	end := deadline
	if lastExit.Before(end) {
		end = lastExit
	}
	out.window = end.Sub(start)
	return out
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p*float64(len(sorted))+0.999999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// newClient returns a keep-alive HTTP/1.1 client sized for c concurrent
// requests to one host. It never uses a proxy.
func newClient(c int, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        c,
		MaxIdleConnsPerHost: c,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// parseConcurrency parses a comma-separated list of positive integers.
func parseConcurrency(s string) ([]int, error) {
	var out []int
	for f := range bytes.SplitSeq([]byte(s), []byte(",")) {
		f = bytes.TrimSpace(f)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.Atoi(string(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad concurrency %q: want positive whole numbers separated by commas", f)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty concurrency list")
	}
	return out, nil
}

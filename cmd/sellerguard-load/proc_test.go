package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A child whose address another process took between freeAddr and its own
// bind exits; the harness must say so, not take the other process's
// server (which answers 200 there) for its child. Then the child on an
// address of its own is started and answers.
func TestStartProcNeedsItsOwnListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	taken := ln.Addr().String()
	foreign := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("someone else\n")) }), ReadHeaderTimeout: time.Second}
	go func() { _ = foreign.Serve(ln) }()
	t.Cleanup(func() { _ = foreign.Close() })
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	start := func(addr string) (*proc, error) {
		env := childEnv(map[string]string{childRoleEnv: "bare", bareAddrEnv: addr})
		return startProc(ctx, "bare server", self, nil, env, "http://"+addr, "http://"+addr+"/", bareListening+addr+"\n", filepath.Join(dir, "bare.log"))
	}
	p, err := start(taken)
	if err == nil {
		_ = p.Stop()
		t.Fatalf("the bare child was taken as started on %s, where another server listens", taken)
	}
	if !strings.Contains(err.Error(), "exited at start") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("start on a taken address: %v", err)
	}
	// startRetrying tries again on that error only, at most three times.
	tries := 0
	if _, err := startRetrying(func() (*proc, error) { tries++; return start(taken) }); err == nil || tries != 3 {
		t.Fatalf("retrying a taken address: %d tries, %v", tries, err)
	}
	p, err = startBareProc(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Stop() }()
	resp, err := http.Get(p.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("the bare child answers %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

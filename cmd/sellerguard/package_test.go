package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/testenv"
)

const repoRoot = "../.."

// The systemd unit passes systemd-analyze verify with no warning at all,
// and has the hardening the README promises.
func TestSystemdUnitVerifies(t *testing.T) {
	t.Parallel()
	analyze := testenv.RequireCommand(t, "systemd-analyze")
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile(filepath.Join(repoRoot, "packaging", "sellerguard.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "StateDirectory=sellerguard",
		"ExecStart=/usr/local/bin/sellerguard serve", "ExecReload=/bin/kill -HUP $MAINPID", "KillSignal=SIGTERM", "CapabilityBoundingSet=\n"} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	// verify checks that ExecStart exists: point it at the binary built
	// here, the only change.
	dir := t.TempDir()
	f := filepath.Join(dir, "sellerguard.service")
	if err := os.WriteFile(f, bytes.ReplaceAll(unit, []byte("/usr/local/bin/sellerguard"), []byte(bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(analyze, "verify", f)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	err = cmd.Run()
	if err != nil || strings.TrimSpace(stderr.String()) != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, stderr.String())
	}
}

// Release builds name their version, commit and date; a plain build falls
// back to what Go recorded.
func TestVersionIsStamped(t *testing.T) {
	t.Parallel()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !regexp.MustCompile(`^sellerguard \S+ \(commit \S+, built \S+, go1\.\d+`).Match(out) {
		t.Fatalf("plain build: %q %v", out, err)
	}
	stamped := filepath.Join(t.TempDir(), "sellerguard")
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version=v1.2.3 -X main.commit=0123456789abcdef -X main.date=2026-01-02T03:04:05Z", "-o", stamped, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	out, err = exec.Command(stamped, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "sellerguard v1.2.3 (commit 0123456789abcdef, built 2026-01-02T03:04:05Z, go") {
		t.Fatalf("release build: %q %v", out, err)
	}
	// The release script stamps with these very flags.
	script, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "release.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-X main.version=$VERSION -X main.commit=$commit -X main.date=$date", "go build -trimpath"} {
		if !bytes.Contains(script, []byte(want)) {
			t.Errorf("scripts/release.sh lacks %q", want)
		}
	}
	// go install github.com/sellerguard/sellerguard/cmd/sellerguard@…
	// needs the module path to be the import path of the command.
	out, err = exec.Command("go", "list", "-f", "{{.Name}} {{.ImportPath}} {{.Module.Path}}", ".").Output()
	if err != nil || strings.TrimSpace(string(out)) != "main github.com/sellerguard/sellerguard/cmd/sellerguard github.com/sellerguard/sellerguard" {
		t.Fatalf("go list: %q %v", out, err)
	}
}

// imageFile is one entry of the image's file system.
type imageFile struct {
	mode     os.FileMode
	uid, gid int
	typ      byte
	data     []byte // only for the binary
}

// TestContainerImage builds the image with scripts/release.sh --image and
// podman (FROM scratch: nothing to pull), checks its configuration and file
// list, and runs it read-only: it must run as non-root and answer /healthz
// through its own health check. Where containers cannot run on the machine
// (the OCI runtime refuses: no cgroup or rlimit rights, as in some VMs), the
// test says so and instead runs the image's own binary on the host as the
// image's user.
func TestContainerImage(t *testing.T) {
	t.Parallel()
	podman := testenv.RequireCommand(t, "podman")
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	tag := "localhost/sellerguard-test:" + hex.EncodeToString(suffix)
	cmd := exec.Command("bash", filepath.Join(repoRoot, "scripts", "release.sh"), "--image")
	cmd.Env = append(os.Environ(), "BINARY="+bin, "OUT="+t.TempDir(), "IMAGE="+tag, "VERSION=test")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/release.sh --image: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(podman, "rmi", "-f", tag).Run() })

	var cfg []struct {
		Config struct {
			User       string
			Entrypoint []string
			Cmd        []string
			Env        []string
		}
		Healthcheck struct{ Test []string }
	}
	out, err := exec.Command(podman, "image", "inspect", tag).Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &cfg); err != nil || len(cfg) != 1 {
		t.Fatalf("image inspect: %v %s", err, out)
	}
	c := cfg[0].Config
	if c.User != "65532:65532" {
		t.Errorf("image user %q, want 65532:65532 (non-root)", c.User)
	}
	if strings.Join(cfg[0].Healthcheck.Test, " ") != "CMD /usr/local/bin/sellerguard healthcheck" {
		t.Errorf("health check %q", cfg[0].Healthcheck.Test)
	}
	if strings.Join(c.Entrypoint, " ") != "/usr/local/bin/sellerguard" || strings.Join(c.Cmd, " ") != "serve" {
		t.Errorf("entrypoint %q cmd %q", c.Entrypoint, c.Cmd)
	}

	files := imageFiles(t, podman, tag)
	need := map[string]func(f imageFile) bool{
		"usr/local/bin/sellerguard":         func(f imageFile) bool { return f.typ == tar.TypeReg && f.mode&0o111 != 0 },
		"etc/ssl/certs/ca-certificates.crt": func(f imageFile) bool { return f.typ == tar.TypeReg },
		"usr/share/zoneinfo/Europe/Berlin": func(f imageFile) bool {
			return f.typ == tar.TypeReg || f.typ == tar.TypeSymlink || f.typ == tar.TypeLink
		},
		"usr/share/zoneinfo/Asia/Shanghai": func(f imageFile) bool {
			return f.typ == tar.TypeReg || f.typ == tar.TypeSymlink || f.typ == tar.TypeLink
		},
		"var/lib/sellerguard": func(f imageFile) bool { return f.typ == tar.TypeDir && f.uid == 65532 },
		"etc/passwd":          func(f imageFile) bool { return f.typ == tar.TypeReg },
	}
	for name, ok := range need {
		f, found := files[name]
		if !found || !ok(f) {
			t.Errorf("image file %s: %+v (found %v)", name, f, found)
		}
	}
	for name := range files {
		if strings.HasPrefix(name, "bin/") || strings.HasPrefix(name, "sbin/") || strings.HasPrefix(name, "usr/bin/") || strings.HasSuffix(name, "/sh") {
			t.Errorf("the image holds %s: it should hold no shell or tools", name)
		}
	}
	// A directory the image's user can reach (t.TempDir's parent is 0700).
	binDir, err := os.MkdirTemp("", "sellerguard-img")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(binDir) })
	if err := os.Chmod(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	imgBin := filepath.Join(binDir, "sellerguard")
	if err := os.WriteFile(imgBin, files["usr/local/bin/sellerguard"].data, 0o755); err != nil {
		t.Fatal(err)
	}
	ef, err := elf.Open(imgBin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the image's binary is dynamically linked (it has an ELF interpreter); build it with CGO_ENABLED=0")
		}
	}
	_ = ef.Close()

	port := freeTCPPort(t)
	dataDir, err := os.MkdirTemp("", "sellerguard-ctr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dataDir) })
	if os.Geteuid() == 0 {
		if err := os.Chown(dataDir, 65532, 65532); err != nil {
			t.Fatal(err)
		}
	}
	name := "sellerguard-test-" + hex.EncodeToString(suffix)
	run := exec.Command(podman, "run", "-d", "--name", name, "--network=host", "--read-only", "--health-interval=disable",
		"-e", fmt.Sprintf("SELLERGUARD_ADDR=127.0.0.1:%d", port), "-e", "SELLERGUARD_METRICS_ADDR=127.0.0.1:0", "-v", dataDir+":/var/lib/sellerguard", tag)
	var runErr bytes.Buffer
	run.Stderr = &runErr
	err = run.Run()
	t.Cleanup(func() { _ = exec.Command(podman, "rm", "-f", "-t", "0", name).Run() })
	var exit *exec.ExitError
	if errors.As(err, &exit) && (exit.ExitCode() == 125 || exit.ExitCode() == 126) && strings.Contains(runErr.String(), "OCI") {
		t.Logf("CONTAINERS CANNOT RUN ON THIS MACHINE: podman run exits %d: %s", exit.ExitCode(), strings.TrimSpace(runErr.String()))
		t.Logf("checked instead: the image's configuration, user and file list (above); now running the image's own binary on the host as the image's user 65532")
		runImageBinaryAsUser(t, imgBin, dataDir, port)
		return
	}
	if err != nil {
		t.Fatalf("podman run: %v\n%s", err, runErr.String())
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHealthy(t, base)
	if out, err := exec.Command(podman, "healthcheck", "run", name).CombinedOutput(); err != nil {
		t.Errorf("the image's HEALTHCHECK: %v %s", err, out)
	}
	out, err = exec.Command(podman, "inspect", name, "--format", "{{.State.Pid}} {{.HostConfig.ReadonlyRootfs}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	var ro bool
	_, _ = fmt.Sscanf(string(out), "%d %t", &pid, &ro)
	if !ro {
		t.Error("the root file system is not read-only")
	}
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err != nil || !regexp.MustCompile(`(?m)^Uid:\s+65532\s`).Match(status) {
		t.Errorf("the server in the container does not run as 65532: %v\n%s", err, status)
	}
	if out, err := exec.Command(podman, "stop", "-t", "20", name).CombinedOutput(); err != nil {
		t.Fatalf("podman stop: %v %s", err, out)
	}
	out, _ = exec.Command(podman, "inspect", name, "--format", "{{.State.ExitCode}}").Output()
	if strings.TrimSpace(string(out)) != "0" {
		t.Errorf("exit code after SIGTERM: %s", out)
	}
}

// runImageBinaryAsUser runs the binary taken out of the image as the
// image's user (when the test runs as root), checks it serves and that its
// health check command passes, and stops it with SIGTERM.
func runImageBinaryAsUser(t *testing.T, bin, dataDir string, port int) {
	t.Helper()
	env := []string{fmt.Sprintf("SELLERGUARD_ADDR=127.0.0.1:%d", port), "SELLERGUARD_METRICS_ADDR=127.0.0.1:0", "SELLERGUARD_DATA_DIR=" + dataDir, "SELLERGUARD_LOG_FORMAT=json"}
	asUser := func(cmd *exec.Cmd) {
		cmd.Env = env
		if os.Geteuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
		}
	}
	srv := exec.Command(bin, "serve")
	asUser(srv)
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	srv.Stderr = &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || !strings.Contains(line, "listening on") {
		t.Fatalf("the image's binary did not start as 65532: %q %v\n%s", line, err, logs.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.Process.Pid)); err == nil && os.Geteuid() == 0 && !regexp.MustCompile(`(?m)^Uid:\s+65532\s`).Match(status) {
		t.Errorf("not running as 65532:\n%s", status)
	}
	hc := exec.Command(bin, "healthcheck")
	asUser(hc)
	if out, err := hc.CombinedOutput(); err != nil || !strings.Contains(string(out), "healthy") {
		t.Fatalf("sellerguard healthcheck: %v %s", err, out)
	}
	waitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d", port))
	_ = srv.Process.Signal(syscall.SIGTERM)
	if err := srv.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, logs.String())
	}
	if st, err := os.Stat(filepath.Join(dataDir, "secret.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file in the data directory: %v", err)
	}
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no healthy answer from %s/healthz: %v", base, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

// imageFiles lists the image's file system from `podman save`
// (docker-archive: a manifest and one tar per layer).
func imageFiles(t *testing.T, podman, tag string) map[string]imageFile {
	t.Helper()
	archive := filepath.Join(t.TempDir(), "image.tar")
	if out, err := exec.Command(podman, "save", "--format", "docker-archive", "-o", archive, tag).CombinedOutput(); err != nil {
		t.Fatalf("podman save: %v %s", err, out)
	}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	layers := map[string][]byte{}
	var manifest []struct{ Layers []string }
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "manifest.json" {
			if err := json.Unmarshal(b, &manifest); err != nil {
				t.Fatal(err)
			}
			continue
		}
		layers[h.Name] = b
	}
	if len(manifest) != 1 {
		t.Fatalf("image archive manifest: %+v", manifest)
	}
	files := map[string]imageFile{}
	for _, l := range manifest[0].Layers {
		var r io.Reader = bytes.NewReader(layers[l])
		if b := layers[l]; len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
			gz, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			r = gz
		}
		lr := tar.NewReader(r)
		for {
			h, err := lr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("layer %s: %v", l, err)
			}
			name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
			fi := imageFile{mode: h.FileInfo().Mode(), uid: h.Uid, gid: h.Gid, typ: h.Typeflag}
			if name == "usr/local/bin/sellerguard" {
				if fi.data, err = io.ReadAll(lr); err != nil {
					t.Fatal(err)
				}
			}
			files[name] = fi
		}
	}
	return files
}

// The health check command fails (exit 1) when nothing answers, and finds
// the server on loopback when it listens on every address.
func TestHealthcheckCommand(t *testing.T) {
	t.Parallel()
	port := freeTCPPort(t)
	code, _, errOut := runCLI(t, map[string]string{"SELLERGUARD_ADDR": fmt.Sprintf("0.0.0.0:%d", port)}, "healthcheck", "--timeout", "2s")
	if code != 1 || !strings.Contains(errOut, "unhealthy") || !strings.Contains(errOut, fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Fatalf("healthcheck with no server: exit %d %q", code, errOut)
	}
	p := startProcess(t, []string{"SELLERGUARD_ADDR=127.0.0.1:0", "SELLERGUARD_DATA_DIR=" + t.TempDir(), "SELLERGUARD_LOG_LEVEL=error"})
	code, out, errOut := runCLI(t, nil, "healthcheck", "--url", p.url+"/healthz")
	if code != 0 || !strings.Contains(out, "healthy") {
		t.Fatalf("healthcheck of a running server: exit %d %q %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, nil, "healthcheck", "--url", p.url+"/no-such-page")
	if code != 1 || !strings.Contains(errOut, "404") {
		t.Fatalf("healthcheck of a wrong URL: exit %d %q", code, errOut)
	}
}

package faulttest

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serverBin is the zkserver binary TestMain built from the working tree ("" under -short).
var serverBin string

// reaper remembers what a run must undo even when it cannot finish normally: a SIGINT or
// SIGTERM of the test binary skips t.Cleanup, so the signal handler undoes it from here.
// It is package state only because a signal handler has no other way to reach it.
var reaper = &undoList{pgids: map[int]bool{}, chains: map[string]bool{}, dirs: map[string]bool{}}

type undoList struct {
	mu     sync.Mutex
	pgids  map[int]bool
	chains map[string]bool
	dirs   map[string]bool
}

func (u *undoList) addPgid(p int)     { u.mu.Lock(); u.pgids[p] = true; u.mu.Unlock() }
func (u *undoList) delPgid(p int)     { u.mu.Lock(); delete(u.pgids, p); u.mu.Unlock() }
func (u *undoList) addChain(c string) { u.mu.Lock(); u.chains[c] = true; u.mu.Unlock() }
func (u *undoList) delChain(c string) { u.mu.Lock(); delete(u.chains, c); u.mu.Unlock() }
func (u *undoList) addDir(d string)   { u.mu.Lock(); u.dirs[d] = true; u.mu.Unlock() }
func (u *undoList) delDir(d string)   { u.mu.Lock(); delete(u.dirs, d); u.mu.Unlock() }

// undoAll kills every server process group, removes every firewall chain and temp dir.
func (u *undoList) undoAll() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for p := range u.pgids {
		syscall.Kill(-p, syscall.SIGKILL)
		syscall.Kill(-p, syscall.SIGCONT)
	}
	for c := range u.chains {
		removeChain(c)
	}
	for d := range u.dirs {
		os.RemoveAll(d)
	}
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "faulttest: %v: killing the servers and removing the firewall rules\n", s)
		reaper.undoAll()
		os.Exit(2)
	}()
	defer reaper.undoAll()
	if testing.Short() {
		return m.Run()
	}
	// A run that died without cleaning up (go test -timeout panics, SIGKILL) left its chain
	// behind: remove chains of processes that no longer exist.
	sweepStaleChains()
	dir, err := os.MkdirTemp("", "faulttest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	reaper.addDir(dir)
	bin, err := buildServer(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	serverBin = bin
	return m.Run()
}

func repoRoot() (string, error) {
	_, file, _, _ := runtime.Caller(0)
	for d := filepath.Dir(file); d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no go.mod above %s", file)
}

// buildServer builds ./cmd/zkserver of the working tree (with -race under
// FAULTTEST_SERVER_RACE=1).
func buildServer(dir string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "zkserver")
	args := []string{"build", "-o", bin}
	if os.Getenv("FAULTTEST_SERVER_RACE") == "1" {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/zkserver")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), args...)
	cmd.Dir = root
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	fmt.Fprintf(os.Stderr, "faulttest: built %s in %v\n", bin, time.Since(start).Round(time.Millisecond))
	return bin, nil
}

var staleChain = regexp.MustCompile(`^-N (` + chainPrefix + `(\d+))$`)

func sweepStaleChains() {
	out, err := exec.Command("iptables", "-w", "-S").Output()
	if err != nil {
		return // reported by the test that needs iptables
	}
	for _, line := range strings.Split(string(out), "\n") {
		m := staleChain.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[2])
		if pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue
		}
		fmt.Fprintf(os.Stderr, "faulttest: removing the stale chain %s\n", m[1])
		removeChain(m[1])
	}
}

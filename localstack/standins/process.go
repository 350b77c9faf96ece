package standins

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	lockFileName = "standins.lock"
	leasesDir    = "leases"
	// stopGrace is how long a stand-in gets after SIGTERM before SIGKILL.
	stopGrace = 5 * time.Second
	pollEvery = 50 * time.Millisecond
)

// lockDir takes the exclusive lock of dir, waiting for it while ctx allows. Each call opens the lock
// file itself: flock locks belong to the open file description, so this also serializes goroutines.
func lockDir(ctx context.Context, dir string) (unlock func(), err error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w (set %s to a writable folder)", err, EnvDir)
	}
	fd := int(f.Fd())
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(fd, syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("waiting for %s (another process is installing or starting stand-ins): %w", path, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

func pidFile(dir, name string, port int) string {
	return filepath.Join(dir, fmt.Sprintf("%s-%d.pid", name, port))
}

func logFile(dir, name string, port int) string {
	return filepath.Join(dir, fmt.Sprintf("%s-%d.log", name, port))
}

// parsePidFileName parses "<service>-<port>.pid".
func parsePidFileName(base string) (name string, port int, ok bool) {
	stem, found := strings.CutSuffix(base, ".pid")
	if !found {
		return "", 0, false
	}
	name, p, found := strings.Cut(stem, "-")
	if !found || services[name] == nil {
		return "", 0, false
	}
	port, err := strconv.Atoi(p)
	return name, port, err == nil
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s holds %q, not a pid", path, b)
	}
	return pid, nil
}

// writeFileAtomic writes via a temporary file and a rename, so readers never see half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// alive reports whether pid is a live process (a zombie is not).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// The state follows the command name, which is in parentheses and may itself hold ") ".
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && b[i+2] == 'Z' {
			// A multi-threaded process (java) shows its main thread as a zombie while its other
			// threads are still exiting and still hold its files, such as the listening socket.
			tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
			return err == nil && len(tasks) > 1
		}
	}
	return true
}

// processMatches reports whether pid is alive and, where /proc can tell, is svc on port, so that a pid
// file left behind never makes us signal an unrelated process that reused the pid.
func processMatches(pid int, svc *service, port int) bool {
	if !alive(pid) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return true // no procfs (macOS): trust the pid file
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	return svc.matches(args, port)
}

// terminate stops the process group led by pid: SIGTERM, then SIGKILL after stopGrace.
func terminate(pid int) error {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if err := syscall.Kill(-pid, sig); err != nil {
			if errors.Is(err, syscall.ESRCH) {
				// Not a group leader (or gone): signal the process alone.
				if err := syscall.Kill(pid, sig); errors.Is(err, syscall.ESRCH) {
					return nil
				}
			} else {
				return fmt.Errorf("signal %v to pid %d: %w", sig, pid, err)
			}
		}
		if sig == syscall.SIGTERM {
			_ = syscall.Kill(-pid, syscall.SIGCONT) // a stopped process acts on SIGTERM only once continued
		}
		deadline := time.Now().Add(stopGrace)
		for time.Now().Before(deadline) {
			if !alive(pid) {
				return nil
			}
			time.Sleep(pollEvery)
		}
	}
	return fmt.Errorf("pid %d still running %v after SIGKILL", pid, stopGrace)
}

// stopRecorded stops the stand-in recorded with pid in its pid file, and removes the pid file and leases.
func stopRecorded(dir string, svc *service, port, pid int, logger *slog.Logger) error {
	path := pidFile(dir, svc.name, port)
	if cur, _ := readPid(path); cur != pid {
		return nil // restarted or stopped by someone else since
	}
	if processMatches(pid, svc, port) {
		logger.Info("stopping stand-in", "service", svc.name, "port", port, "pid", pid)
		if err := terminate(pid); err != nil {
			return fmt.Errorf("stop %s (pid %d, port %d): %w", svc.title, pid, port, err)
		}
	}
	_ = os.Remove(path)
	removeLeases(dir, svc.name, port)
	return nil
}

// tail returns the last lines of a log file, for error messages.
func tail(path string, maxLines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	const maxBytes = 4096
	if len(b) > maxBytes {
		b = b[len(b)-maxBytes:]
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	s := strings.Join(lines, "\n")
	if strings.TrimSpace(s) == "" {
		return "(empty)"
	}
	return s
}

// startService starts p's stand-in detached, records its pid and waits until it answers.
func startService(ctx context.Context, o Options, p *plan) (int, error) {
	cmd, err := p.svc.command(o, p.port)
	if err != nil {
		return 0, err
	}
	logPath := logFile(o.Dir, p.svc.name, p.port)
	logOut, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, fmt.Errorf("create log file for %s: %w", p.svc.title, err)
	}
	cmd.Stdout = logOut
	cmd.Stderr = logOut
	// Own session and process group: it outlives us, and our terminal's signals do not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	began := time.Now()
	err = cmd.Start()
	_ = logOut.Close() // the child holds its own copy
	if err != nil {
		return 0, fmt.Errorf("start %s (%s): %w", p.svc.title, strings.Join(cmd.Args, " "), err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps it if it dies while we live
	p.pid = pid
	o.Logger.InfoContext(ctx, "starting stand-in", "service", p.svc.name, "port", p.port, "pid", pid, "log", logPath)

	pidPath := pidFile(o.Dir, p.svc.name, p.port)
	fail := func(err error) (int, error) {
		_ = terminate(pid)
		_ = os.Remove(pidPath)
		return 0, err
	}
	if err := writeFileAtomic(pidPath, []byte(strconv.Itoa(pid)+"\n")); err != nil {
		return fail(fmt.Errorf("write pid file for %s: %w", p.svc.title, err))
	}

	deadline := time.NewTimer(o.StartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		if lastErr = p.svc.check(ctx, p.endpoint, readyCheckTimeout); lastErr == nil {
			o.Logger.InfoContext(ctx, "stand-in ready", "service", p.svc.name, "endpoint", p.endpoint,
				"pid", pid, "took", time.Since(began).Round(time.Millisecond))
			return pid, nil
		}
		select {
		case werr := <-exited:
			_ = os.Remove(pidPath)
			return 0, fmt.Errorf("%s exited while starting (%v; %s); last lines of %s:\n%s",
				p.svc.title, werr, p.svc.needs, logPath, tail(logPath, 20))
		case <-ctx.Done():
			return fail(fmt.Errorf("waiting for %s on port %d: %w", p.svc.title, p.port, ctx.Err()))
		case <-deadline.C:
			return fail(fmt.Errorf("%s did not answer on port %d within %v (last check: %v); last lines of %s:\n%s",
				p.svc.title, p.port, o.StartTimeout, lastErr, logPath, tail(logPath, 20)))
		case <-tick.C:
		}
	}
}

// A lease records that a Stack uses a stand-in with a pid file. The file is
// <dir>/leases/<service>-<port>.<holder pid>.<random>.lease and holds "<role> <stand-in pid>", where
// role is "owner" for the Stack that is to stop the stand-in and "user" for the others.
type lease struct {
	path string
	name string
	port int
	pid  int // the stand-in's pid
}

const (
	roleOwner = "owner"
	roleUser  = "user"
)

func leasePrefix(name string, port int) string { return fmt.Sprintf("%s-%d.", name, port) }

func writeLease(dir, name string, port, pid int, owner bool) (lease, error) {
	if err := os.MkdirAll(filepath.Join(dir, leasesDir), 0o755); err != nil {
		return lease{}, err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	path := filepath.Join(dir, leasesDir,
		fmt.Sprintf("%s%d.%s.lease", leasePrefix(name, port), os.Getpid(), hex.EncodeToString(rnd[:])))
	role := roleUser
	if owner {
		role = roleOwner
	}
	if err := writeFileAtomic(path, fmt.Appendf(nil, "%s %d\n", role, pid)); err != nil {
		return lease{}, err
	}
	return lease{path: path, name: name, port: port, pid: pid}, nil
}

// readLease returns a lease file's role and stand-in pid.
func readLease(path string) (role string, pid int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, err
	}
	role, p, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	pid, err = strconv.Atoi(p)
	return role, pid, err
}

// liveLeases lists the other leases on the stand-in (name, port, pid) whose holder process is alive,
// and deletes the leases of dead holders and of earlier processes on that port.
func liveLeases(dir, name string, port, pid int) []string {
	paths, _ := filepath.Glob(filepath.Join(dir, leasesDir, leasePrefix(name, port)+"*.lease"))
	var live []string
	for _, path := range paths {
		rest := strings.TrimPrefix(filepath.Base(path), leasePrefix(name, port))
		holderStr, _, _ := strings.Cut(rest, ".")
		holder, err := strconv.Atoi(holderStr)
		_, lpid, rerr := readLease(path)
		if err != nil || rerr != nil || lpid != pid || !alive(holder) {
			_ = os.Remove(path)
			continue
		}
		live = append(live, path)
	}
	return live
}

func removeLeases(dir, name string, port int) {
	paths, _ := filepath.Glob(filepath.Join(dir, leasesDir, leasePrefix(name, port)+"*.lease"))
	for _, path := range paths {
		_ = os.Remove(path)
	}
}

// release gives up l. Its owner stops the stand-in, or hands ownership to another live user.
// Called with the dir lock held.
func release(dir string, l lease, logger *slog.Logger) error {
	role, _, err := readLease(l.path)
	_ = os.Remove(l.path)
	if err != nil || role != roleOwner {
		return nil // a user, or StopAll already cleaned up
	}
	if others := liveLeases(dir, l.name, l.port, l.pid); len(others) > 0 {
		if err := writeFileAtomic(others[0], fmt.Appendf(nil, "%s %d\n", roleOwner, l.pid)); err == nil {
			logger.Info("leaving stand-in running: other stacks still use it; the last one stops it",
				"service", l.name, "port", l.port, "pid", l.pid, "users", len(others))
			return nil
		}
	}
	return stopRecorded(dir, services[l.name], l.port, l.pid, logger)
}

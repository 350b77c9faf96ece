package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is one running database server process.
type server struct {
	kind    string
	logPath string // the server's (and its setup's) output
	cmd     *exec.Cmd
	cancel  context.CancelFunc // stops the server: its stop signal, then SIGKILL after a grace period
	exited  chan struct{}      // closed when the process has exited
	waitErr error              // the process's exit, once exited is closed
	db      Database           // how to reach it, Name aside
	admin   *sql.DB            // the administrator's connection, to create and drop databases
	quote   func(name string) string
}

// account is the user a server runs as: nil (this process's user) unless
// this process runs as root, which PostgreSQL refuses.
type account = *syscall.Credential

// serverAccount returns the account to run a server as: the first of names
// that exists, when this process runs as root.
func serverAccount(names ...string) (account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range names {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("running as root, and none of the users %s exists to run the server as "+
		"(the servers refuse root, or should not run as root)", strings.Join(names, ", "))
}

// own gives paths to the account a server runs as.
func own(acc account, paths ...string) error {
	if acc == nil {
		return nil
	}
	for _, p := range paths {
		if err := os.Chown(p, int(acc.Uid), int(acc.Gid)); err != nil {
			return fmt.Errorf("giving %s to the server's user: %w", p, err)
		}
	}
	return nil
}

// sysProcAttr runs a child as acc, in a process group of its own (a
// Ctrl-C meant for the tests does not reach it before Main stops it), and
// kills it if this process dies without stopping it (a test timeout).
func sysProcAttr(acc account) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: acc, Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// runSetup runs a setup program (initdb, mariadb-install-db) to its end,
// its output appended to the log.
func runSetup(acc account, logPath, program string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening the server's log: %w", err)
	}
	defer func() { _ = logFile.Close() }()
	fmt.Fprintf(logFile, "== %s %s\n", program, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = sysProcAttr(acc)
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("not done after %s", startTimeout)
		}
		return fmt.Errorf("%s: %w%s", filepath.Base(program), err, logTail(logPath))
	}
	return nil
}

// launch starts a server process in the background, its output appended
// to the log; stopSignal is what asks it to shut down.
func launch(kind string, acc account, logPath string, stopSignal os.Signal, program string, args ...string) (*server, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the server's log: %w", err)
	}
	defer func() { _ = logFile.Close() }() // the child has its own copy
	fmt.Fprintf(logFile, "== %s %s\n", program, strings.Join(args, " "))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = sysProcAttr(acc)
	cmd.Cancel = func() error { return cmd.Process.Signal(stopSignal) }
	cmd.WaitDelay = 30 * time.Second // then SIGKILL
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("starting %s: %w", program, err)
	}
	s := &server{kind: kind, logPath: logPath, cmd: cmd, cancel: cancel, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

// waitReady pings the server until it answers, it exits, or the deadline
// passes; the error shows the end of the server's log.
func (s *server) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("the %s server exited while starting (%v)%s", s.kind, s.waitErr, logTail(s.logPath))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		lastErr = s.admin.PingContext(ctx)
		cancel()
		if lastErr == nil {
			return nil
		}
		select {
		case <-s.exited:
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("the %s server did not accept connections within %s (last: %v)%s",
		s.kind, startTimeout, lastErr, logTail(s.logPath))
}

// stop shuts the server down and waits for its process to end.
func (s *server) stop() error {
	if s.admin != nil {
		_ = s.admin.Close()
	}
	s.cancel()
	<-s.exited
	var exit *exec.ExitError
	if s.waitErr != nil && !errors.As(s.waitErr, &exit) && !errors.Is(s.waitErr, context.Canceled) {
		return fmt.Errorf("the %s server: %w", s.kind, s.waitErr)
	}
	return nil
}

// fail stops a server that did not start, and returns err.
func (s *server) fail(err error) (*server, error) {
	_ = s.stop()
	return nil, err
}

// logTail returns the end of a server's log, to show in an error.
func logTail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	const size = 4096
	if info, err := f.Stat(); err == nil && info.Size() > size {
		_, _ = f.Seek(info.Size()-size, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return fmt.Sprintf("\n--- end of %s:\n%s", path, strings.TrimRight(string(b), "\n"))
}

// isPortTaken tells a start that failed because another process took the
// port: worth another try on another port.
func isPortTaken(err error) bool {
	return err != nil && strings.Contains(err.Error(), "ddress already in use")
}

// findProgram returns the first of the paths and PATH lookups that is an
// executable file.
func findProgram(name string, dirs ...string) (string, bool) {
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

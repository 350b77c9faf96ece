package ec2_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/infra/ec2"
)

// TestUnitNamesItsFiles: the unit runs the binary and reads the
// environment file where the user data puts them, and stops the worker the
// way its drain expects.
func TestUnitNamesItsFiles(t *testing.T) {
	t.Parallel()
	lines := strings.Split(ec2.WorkerUnit, "\n")
	for _, want := range []string{
		"ExecStart=" + ec2.BinaryPath,
		"EnvironmentFile=" + ec2.EnvironmentFile,
		"Restart=always",
		"KillSignal=SIGKILL",
		"KillMode=control-group",
		"WantedBy=multi-user.target",
	} {
		require.Contains(t, lines, want)
	}
	require.True(t, strings.HasSuffix(ec2.UnitPath, "/scaleout-worker.service"))
}

// execStop is the unit's ExecStop script, as systemd hands it to sh.
func execStop(t *testing.T) string {
	t.Helper()
	for _, line := range strings.Split(ec2.WorkerUnit, "\n") {
		if cmd, ok := strings.CutPrefix(line, "ExecStop=/bin/sh -c '"); ok {
			return strings.ReplaceAll(strings.TrimSuffix(cmd, "'"), "$$", "$")
		}
	}
	t.Fatal("the unit has no ExecStop=/bin/sh -c '...'")
	return ""
}

// TestExecStopDrainsThenReturns: stopping signals the worker alone and
// waits for it to exit (its drain), after which systemd SIGKILLs the rest;
// after a crash ($MAINPID unset) it returns at once, so the rest is
// SIGKILLed right away.
func TestExecStopDrainsThenReturns(t *testing.T) {
	t.Parallel()
	script := execStop(t)
	mark := filepath.Join(t.TempDir(), "drained")
	// A "worker" that drains for 700ms after SIGTERM.
	worker := exec.Command("sh", "-c", `trap 'sleep 0.7; echo done > `+mark+`; exit 0' TERM; while :; do sleep 0.1; done`)
	require.NoError(t, worker.Start())
	exited := make(chan struct{})
	go func() { _ = worker.Wait(); close(exited) }()
	time.Sleep(200 * time.Millisecond) // the trap is set

	stop := exec.Command("sh", "-c", script)
	stop.Env = append(os.Environ(), "MAINPID="+strconv.Itoa(worker.Process.Pid))
	start := time.Now()
	out, err := stop.CombinedOutput()
	require.NoError(t, err, string(out))
	require.GreaterOrEqual(t, time.Since(start), 600*time.Millisecond, "ExecStop waits for the drain")
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = worker.Process.Signal(syscall.SIGKILL)
		t.Fatal("the worker did not exit on SIGTERM")
	}
	b, err := os.ReadFile(mark)
	require.NoError(t, err, "the worker drained")
	require.Equal(t, "done\n", string(b))

	// After a crash systemd leaves MAINPID unset: nothing to wait for.
	crash := exec.Command("sh", "-c", script)
	crash.Env = append(os.Environ(), "MAINPID=")
	start = time.Now()
	out, err = crash.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Less(t, time.Since(start), 500*time.Millisecond)
}

// TestUnitVerifies runs systemd's own check of the unit, where
// systemd-analyze is installed (with the binary path pointed at one that
// exists): no warning at all.
func TestUnitVerifies(t *testing.T) {
	t.Parallel()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed here")
	}
	unit := strings.ReplaceAll(ec2.WorkerUnit, ec2.BinaryPath, "/bin/true")
	unit = strings.ReplaceAll(unit, "EnvironmentFile="+ec2.EnvironmentFile, "EnvironmentFile=-"+ec2.EnvironmentFile)
	path := filepath.Join(t.TempDir(), filepath.Base(ec2.UnitPath))
	require.NoError(t, os.WriteFile(path, []byte(unit), 0o644))
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify")
}

// TestUnitKeepsTasksFromTheInstanceRole: before the worker starts, the
// unit drops the task user's traffic to every metadata address; the
// worker holds only the capabilities that start tasks as that user and
// stop them, and is not a dynamic user (which could not switch users).
func TestUnitKeepsTasksFromTheInstanceRole(t *testing.T) {
	t.Parallel()
	lines := strings.Split(ec2.WorkerUnit, "\n")
	var pre string
	for _, l := range lines {
		if cmd, ok := strings.CutPrefix(l, "ExecStartPre=+"); ok {
			pre += cmd + "\n"
		}
	}
	for _, a := range ec2.MetadataAddresses {
		tool := "iptables"
		if strings.Contains(a, ":") {
			tool = "ip6tables"
		}
		require.Contains(t, pre, a, "no rule for %s", a)
		require.Regexp(t, tool+` -w -I OUTPUT -d ("\$\$a"|`+a+`) -m owner --uid-owner `+ec2.TaskUser+` -j REJECT`, pre)
	}
	require.Contains(t, lines, "CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_KILL CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER")
	require.Contains(t, lines, "NoNewPrivileges=yes")
	require.Contains(t, lines, "ProtectSystem=strict")
	require.NotContains(t, ec2.WorkerUnit, "DynamicUser=yes")
}

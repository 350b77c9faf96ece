package tasktypes

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// RunAs is the user exec tasks run as instead of the worker's own: with
// another uid, a program cannot read the worker's environment
// (/proc/<pid>/environ, where AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and
// any secret the worker holds are), signal it, or write its files.
type RunAs struct {
	// Name is how messages name the user: its name, or uid:gid.
	Name     string
	UID, GID uint32
	// Home is the programs' HOME: the user's home directory, or "/" when
	// the user has no entry in /etc/passwd.
	Home string
}

// LookupRunAs reads a task user setting (SCALEOUT_TASK_USER): a user name
// from /etc/passwd, with that user's primary group, or "uid:gid". Root is
// refused: it is what the setting takes away.
func LookupRunAs(spec string) (*RunAs, error) {
	spec = strings.TrimSpace(spec)
	r := &RunAs{Name: spec, Home: "/"}
	if u, g, ok := strings.Cut(spec, ":"); ok {
		uid, err1 := strconv.ParseUint(u, 10, 32)
		gid, err2 := strconv.ParseUint(g, 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("task user %q: give a user name, or uid:gid as numbers (e.g. 10002:10002)", spec)
		}
		r.UID, r.GID = uint32(uid), uint32(gid)
		if pw, err := user.LookupId(u); err == nil && pw.HomeDir != "" {
			r.Home = pw.HomeDir
		}
	} else {
		pw, err := user.Lookup(spec)
		if err != nil {
			return nil, fmt.Errorf("task user %q: %w (create it, e.g. useradd --system %s, or give uid:gid)", spec, err, spec)
		}
		uid, err1 := strconv.ParseUint(pw.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(pw.Gid, 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("task user %q: %w", spec, err)
		}
		r.UID, r.GID = uint32(uid), uint32(gid)
		if pw.HomeDir != "" {
			r.Home = pw.HomeDir
		}
	}
	if r.UID == 0 || r.GID == 0 {
		return nil, fmt.Errorf("task user %q: is root (uid or gid 0): give an unprivileged user of its own", spec)
	}
	return r, nil
}

// Capabilities exec needs to run programs as another user and stop them.
const (
	capKill   = 5
	capSetGID = 6
	capSetUID = 7
)

// Check says whether this process can run programs as r: r is not its own
// user, and it holds CAP_SETUID, CAP_SETGID and CAP_KILL (root does; a
// non-root worker gets them as file capabilities of its binary, or
// ambient ones).
func (r *RunAs) Check() error {
	if uint32(os.Geteuid()) == r.UID || uint32(os.Getuid()) == r.UID {
		return fmt.Errorf("task user %s is the worker's own user (uid %d): exec tasks could read the worker's environment; give another user", r.Name, r.UID)
	}
	have, err := effectiveCaps()
	if err != nil {
		if os.Geteuid() == 0 {
			return nil
		}
		return fmt.Errorf("task user %s: cannot tell whether this worker may switch users (%v): run it as root, or unset SCALEOUT_TASK_USER", r.Name, err)
	}
	var missing []string
	for _, c := range []struct {
		bit  uint
		name string
	}{{capSetUID, "CAP_SETUID"}, {capSetGID, "CAP_SETGID"}, {capKill, "CAP_KILL"}} {
		if have&(1<<c.bit) == 0 {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("task user %s: this worker (uid %d) lacks %s, so it cannot run exec tasks as another user: "+
			"run it as root, or give its binary the capabilities (setcap cap_kill,cap_setgid,cap_setuid=ep), or unset SCALEOUT_TASK_USER",
			r.Name, os.Geteuid(), strings.Join(missing, ", "))
	}
	return nil
}

// credential is r as program.Options wants it: no supplementary groups.
func (r *RunAs) credential() *syscall.Credential {
	if r == nil {
		return nil
	}
	return &syscall.Credential{Uid: r.UID, Gid: r.GID, Groups: []uint32{}}
}

// effectiveCaps reads this process's effective capabilities (Linux).
func effectiveCaps() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, errors.New("/proc/self/status has no CapEff line")
}

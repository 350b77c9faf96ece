//go:build linux

package program

import "syscall"

// sysProcAttr starts the program in a process group of its own, and has
// the kernel kill it if the process that started it dies (a worker killed
// with SIGKILL, or crashed): no program of a dead worker keeps running
// while its execution is taken over elsewhere.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

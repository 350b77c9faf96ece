//go:build !linux

package program

import "syscall"

// sysProcAttr starts the program in a process group of its own. (Only
// Linux can kill it when its starter dies; see procattr_linux.go.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

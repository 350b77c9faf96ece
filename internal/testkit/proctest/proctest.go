// Package proctest helps tests check that processes are gone: a killed
// child that its new parent has not reaped yet is a zombie, which runs
// nothing and must not count as alive.
package proctest

import (
	"os"
	"strconv"
	"strings"
)

// Alive reports whether pid exists and is not a zombie (Linux /proc).
func Alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// "pid (comm) state ...": the state follows the last ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// Package program runs one external program for an execution or an exec
// task: in its own process group, so that cancelling the context kills the
// program and every child it started (and whatever the program leaves
// running when it ends is killed too; on Linux the program is also killed
// when the process that started it dies, so a crashed or SIGKILLed worker
// leaves no program running while its execution is taken over), with its
// output kept up to a cap
// (the tail is kept, since a failure's cause is usually at the end).
//
// Options.OnLine streams the output line by line as it is written, stdout
// and stderr apart, with over-long lines cut into pieces; a program that
// cannot start is reported with an error wrapping ErrNotStarted, so callers
// can tell it from one that ran and failed.
package program

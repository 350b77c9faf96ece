// Package command runs one external program for an execution: in its own
// process group, so that cancelling the context kills the program and every
// child it started, with its combined output kept up to a cap (the tail is
// kept, since a failure's cause is usually at the end).
package command

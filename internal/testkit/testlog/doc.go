// Package testlog holds what tests do with logs: a Buffer that collects a
// log written from several goroutines (a worker's, a child process's) for
// the test to read while they run, and a Writer that shows a log with the
// test's output (go test prints it when the test fails, or with -v).
package testlog

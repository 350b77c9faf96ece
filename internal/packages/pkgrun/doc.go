// Package pkgrun connects executions to the package engine: Prepare checks
// a submitted package and its parameter values before an execution is
// recorded (so a bad package is a 400, not a failed run), and Runner is the
// worker's Runner that runs an execution's package through the engine,
// writing its events as messages and summarizing its tasks. Each attempt
// gets a scratch directory of its own (package scratch), the tasks'
// task.Input.Dir and exec tasks' working directory, removed when the
// attempt ends, whether it succeeded, failed or was stopped.
package pkgrun

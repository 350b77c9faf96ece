// Package tasktypes holds the built-in task types of Scaleout packages:
// exec (run a program), http (send a request), sleep (wait), fail (fail on
// purpose), set (set variables from expressions), sql (run statements on
// a database connection of the package, as SSIS's Execute SQL task) and s3
// (list, get, put, copy, move and delete objects of an s3 connection's
// bucket). Each implements task.Type; Register adds them all to a
// task.Registry and NewRegistry returns a registry holding them, so the
// engine knows them only by name and more types (data flow) plug in the
// same way.
//
// # Settings
//
// A task's settings (`with`) arrive as decoded JSON or YAML: numbers,
// strings, true/false, lists and objects. Check validates them before the
// package runs and reports every problem at once, each naming its field
// ("with.timeout \"10\": write it as \"30s\" or \"10m\""); an unknown
// setting is a problem too, and the message lists the known ones.
//
// Strings may hold ${...} interpolations that resolve only at run time.
// Check accepts such a string wherever any value may go (a string, a
// number, a duration, a URL, a list given whole), checking only what it
// can (an http URL's literal scheme, for one). Run gets the resolved
// settings and checks them again: a value that resolved wrong fails with
// an error wrapping task.ErrPermanent, since retrying cannot fix it. A
// setting that is exactly one interpolation keeps its value's type, so
// wherever a string is expected a number or true/false is taken as its
// text, and wherever a number is expected its text is taken too.
//
// # Types
//
// See each type for its settings and output object:
//
//   - exec (Exec): runs a program in its own process group (package
//     command). Only PATH, HOME, LANG and TMPDIR are inherited from the
//     worker's environment (InheritedEnv); with.env adds variables. With
//     Isolation.RunAs the program runs as that user, HOME its home, and
//     cannot read the worker's environment. Output lines go to the task's
//     log as they are written. Output: exit_code, stdout, stderr,
//     duration_ms, and json when stdout is a JSON object.
//   - http (HTTP): one request with net/http, through a client per
//     registry, bounded by a timeout (30s by default), that never
//     connects to link-local or metadata addresses (package netguard;
//     Isolation.HTTP). Output: status, headers, body (parsed when JSON),
//     duration_ms.
//   - sleep (Sleep): waits for a duration, or until cancelled.
//   - fail (Fail): fails with a message, never retried.
//   - set (Set): evaluates expressions with task.Input.Eval and returns
//     {"values": {name: value}}; the engine writes each value into the
//     variable of that name. The values are bare expressions, not ${...}
//     templates.
//   - s3 (S3): an operation (with.op) on the bucket of an s3 connection
//     (task.Input.Connections): list (keys for foreach), get and put
//     between the bucket and the run's scratch directory (task.Input.Dir,
//     which paths cannot leave), copy, move, delete; one key, or the
//     objects under a prefix matching a glob and newer than an age. Large
//     objects go in parts through the SDK's transfer manager. Clients use
//     the worker's AWS credentials and are kept per region and endpoint.
//
// # Errors
//
// Retrying is decided by the error: task.ErrPermanent (errors.Is) for
// what fails the same way every time (bad settings, a program that cannot
// start, a malformed URL, a fail task, an expression that does not
// evaluate); any other error (an exit code or an HTTP status not expected,
// a timeout, a network error) may be retried under the task's retry
// policy. A cancelled context ends every type promptly with an error
// wrapping ctx.Err(); exec kills the program's whole process group.
//
// The types never log or print anything themselves: what they report goes
// through task.Input.Log and their errors, which the engine redacts.
package tasktypes

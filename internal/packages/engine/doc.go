// Package engine runs a package: a control flow of tasks joined by
// precedence constraints, as SSIS runs one. It knows nothing of AWS: the
// worker hands it a parsed, validated package (pkgfile), a registry of task
// types (task) and an EventSink that persists what happens.
//
// # Compile, then Run
//
// Compile turns a pkgfile.Package into a Plan once: every expression (each
// constraint's `when`, each foreach's `items`, every ${...} template found
// in `with`, recursively) is compiled, every task type is resolved, and
// each scope's precedence graph (the top level, each container's tasks) is
// laid out with indices. Run runs a Plan with typed parameter values; a
// Plan may run many times, concurrently.
//
// # Precedence constraints
//
// A task starts when every constraint in its `after` holds (logical AND).
// A constraint names a sibling task and an outcome: success (the default),
// failure, or completion (either), and optionally a `when` expression. It
// is decided once, when its predecessor ends: the outcome must match, then
// `when` is evaluated with params, vars, tasks (the finished tasks of the
// scope, each {status, outputs, duration_ms, error}, and those of the
// enclosing scopes as they were when the container or iteration started)
// and item. As soon as one constraint of a task cannot hold, the
// task is skipped with the reason, and skipping propagates: a constraint
// on a skipped task never holds, whatever its outcome. A `when` that
// cannot be evaluated fails the task that waits on it (without running
// it). A disabled task is reported skipped ("disabled"), and its
// successors see it as succeeded, as in SSIS.
//
// # Parallelism
//
// At most max_parallel leaf tasks run at once across the whole package
// (RunOptions.MaxParallel, else the package's max_parallel, else
// DefaultMaxParallel, four per CPU). Containers don't count. A task
// waiting for its retry backoff keeps its slot. Ready tasks start in the
// order they became ready.
//
// # Containers
//
// A sequence runs its tasks as a nested scope, a graph of its own. A
// foreach evaluates `items` when it starts and runs its tasks once per
// item with `item` bound, one iteration after another, or all at once
// (within max_parallel) with `parallel: true`. A failing iteration fails
// the foreach; the other iterations still run when parallel, and the
// later ones are not run when sequential. Task paths name iterations by
// item: "per-region[eu]/load" (the item itself when it is a string, its
// index otherwise); sequences by name: "etl/load".
//
// # Result rule
//
// A scope (the package, a sequence, one foreach iteration) succeeds unless
// one of its tasks failed and the failure was not handled. A failure is
// handled when at least one task of the same scope has a constraint on
// the failed task with `on: failure` or `on: completion` and that handler's
// constraints were all satisfied, so that it ran (a disabled handler did
// not run and handles nothing). A handler that fails is itself a failure
// that must be handled. Skipped tasks never fail a scope. A container
// fails, in its own scope, when its scope (any iteration, for a foreach)
// fails, and that failure may in turn be handled there. So the package:
//
//   - succeeds when every failure was handled (or nothing failed);
//   - fails when a failure was not handled, with the first such task's
//     path and error as Result.Error;
//   - fails with "package timeout after D" when its timeout passes;
//   - is canceled when ctx is canceled.
//
// On a timeout or a cancel nothing new starts: queued and waiting tasks
// are skipped ("not started: package canceled"), running attempts see
// their context end and are reported canceled. Run waits up to
// RunOptions.CancelGrace for them to return.
//
// # Attempts
//
// Each attempt renders the task's settings from their templates (params,
// vars, tasks, item, as they are at that moment), runs under its own
// context when the task has a timeout ("timed out after 10s"), and is
// retried up to retry.attempts in total unless its error wraps
// task.ErrPermanent. Retry k waits retry.backoff × 2^(k-1), at most
// MaxBackoff (or the backoff itself when that is longer). A task type that
// panics fails the task without a retry.
//
// # Variables and outputs
//
// Variables are shared by the whole package. When a task succeeds, each
// `outputs` entry {var: "dotted.path"} reads the path from the task's
// Output (map keys; list indices as numbers, "rows.0.id") and writes the
// variable, converted to its declared type (int from whole numbers or
// numeric strings, float, bool from "true"/"false", datetime as time.Time
// from RFC 3339, list from a JSON list, string from anything). A task of
// type "set" (SetType) returns Output{"values": {var: value}} and the
// engine writes those values the same way. A path that is missing, a
// value that does not convert or a variable that is not declared fails
// the task without a retry. Writes are atomic per task; tasks running at
// once (parallel foreach iterations, say) may write the same variable:
// the last write wins. Readers see a consistent snapshot: Input.Vars is a
// copy taken when the attempt starts; `when` and templates see the
// variables as they are when evaluated.
//
// # Connections and transactions
//
// When the run starts, the package's connections have their fields
// rendered (params and system values), are checked, and become one
// connection.Set for the run, given to every task as Input.Connections:
// each database pool opens the first time a task asks for it and is
// shared by the run's tasks; the Set is closed when the run ends, a stop
// included (running statements see their context end first). A
// connection that does not resolve fails the package before any task
// runs. Passwords join the redacted values whole.
//
// A sequence with `transaction: {connection: NAME}` gives the tasks inside
// it (nested containers included) one transaction on that connection
// (task.Transactions), begun when a task first asks, used by one task at
// a time, committed when the sequence's scope succeeds (a failed commit
// fails the sequence) and rolled back when it fails or the run stops. A
// sequence inside another's transaction on the same connection joins it.
// Input.Dir is RunOptions.Dir, the run's scratch directory.
//
// # Events and redaction
//
// Events (package and task start and end, skips, retries, each output
// line and warning a task logs through task.Log, errors) go to the
// RunOptions.Sink, one Emit at a time, never after package_ended. Every
// message, error and output line, every task path, and every string in
// the Result, its Vars and its Outputs passes through a redactor that
// replaces each sensitive value (RunOptions.Sensitive and the string
// values of parameters declared sensitive, and connection passwords) with
// "***". Expressions and
// task types see the real values.
//
// # Cost
//
// A run keeps one slice of task states per scope run, a FIFO of ready
// leaves and a pool of at most max_parallel worker goroutines, spawned
// as needed, that take leaves from it under one mutex: a worker that ends
// a task decides its successors itself and goes on with the next ready
// one, so a chain of tasks runs on one goroutine without hand-offs. The
// tasks view used by expressions is kept only for scopes whose
// expressions or settings mention `tasks`. cmd/bench prints the measured
// overhead per no-op task.
package engine

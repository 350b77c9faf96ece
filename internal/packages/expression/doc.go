// Package expression compiles and evaluates the expressions of package
// files, once each: precedence constraints' `when` conditions, foreach
// `items`, set tasks' values, and the ${...} interpolations in task
// settings. It uses expr-lang/expr (a well-kept, fast, side-effect-free
// expression language for Go).
//
// An expression sees five names: params (the execution's parameter values),
// vars (the package's variables), tasks (each finished task's status,
// outputs and duration), item (the current foreach item) and system (the
// run itself: execution id, attempt, package, worker, ...; see SystemInfo). Compile
// reports which params, vars and tasks an expression refers to, so that a
// package's validator can reject references to unknown names before
// anything runs.
package expression

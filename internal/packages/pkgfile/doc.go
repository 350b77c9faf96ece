// Package pkgfile is the package file format: what users write, deploy and
// run. A package is a control flow of tasks joined by precedence
// constraints, with typed parameters and variables, and containers
// (sequence, foreach) that hold tasks of their own; types.go has its Go
// types and schema.json its JSON Schema.
//
// A file goes through three steps before the engine runs it:
//
//   - Parse reads YAML or JSON (the same fields either way) and reports
//     unknown fields and values of the wrong kind, with their lines.
//   - Validate checks what the package means: task types and their
//     settings, references to tasks, parameters and variables, cycles,
//     expressions. Load does both and puts lines on every problem.
//   - Bind gives each parameter its value for one execution, from
//     command-line text or JSON values, converted to the declared type.
//
// Every step reports every problem at once, sorted by location, in a
// *ValidationError. Sensitive parameter values never appear in a message;
// Sensitive and Redactor help the engine keep them out of its own.
package pkgfile

// Package registrytype is the worker registry's domain, with no storage:
// what a worker says about itself when it registers (Registration), what
// an administrator may change (Changes), the limits and validation of
// both, and the session every execution a worker runs is held under
// (Session, Run, Signals, SessionState and its rules: Holds, Records,
// Abandoned), with the errors the registry's stores return.
//
// Package registry (DynamoDB) and package execmem (in memory) store it,
// and name these types under the same names; a caller that needs only the
// types, not a store, imports this package and links no AWS SDK.
package registrytype

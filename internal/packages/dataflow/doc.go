// Package dataflow runs a dataflow task's graph: components (sources,
// transformations, destinations) joined by paths, rows streaming between
// them as Apache Arrow record batches with back-pressure and bounded
// memory, as SSIS's Data Flow task does.
//
// component.go is the contract a component type implements; graph.go
// decodes and validates a task's `with`; runtime.go runs a planned graph
// (every component in its own goroutine, paths as bounded channels);
// values.go, settings.go, files.go and expr.go are the helpers components
// share. Component types live in sub-packages (transform, fileio, sqlio)
// and reach a Registry through their Register functions (package
// builtin gathers them); package dataflowtest has a `values` source and a
// `collect` destination for tests.
//
// Apache Arrow's Go module is the batch format: columnar batches with a
// pluggable (and here counted) allocator, and readers and writers for
// CSV, JSON and Parquet that the file components build on.
package dataflow

// Package dataflowtest helps test dataflow components: a `values` source
// (rows given in its settings, repeated as often as asked; Rows gives
// them from Go), a `collect` destination (keeps the rows it receives as
// Go values, optionally slow or stopping early), and Run, which plans and
// runs a graph written as YAML or as a map, with a checked allocator that
// fails the test when a batch is leaked.
package dataflowtest

// Package transform holds the dataflow's transformations: derived_column
// (columns from per-row expressions), conditional_split (rows routed by
// expressions), data_conversion (columns to other types), multicast (the
// same rows to several components), union_all (several inputs into one)
// and row_count (a path's row count as a result), with the blocking ones
// (lookup, aggregate, sort) in files of their own. Register adds them to a
// dataflow.Registry.
package transform

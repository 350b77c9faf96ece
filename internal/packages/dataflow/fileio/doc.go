// Package fileio holds the data flow's file components: csv_source,
// jsonl_source and parquet_source read files of the run's scratch
// directory or objects of an S3 connection into record batches;
// csv_destination, jsonl_destination and parquet_destination write their
// input to one file there.
//
// Sources name their files with `file` (one path, a list, or globs, all
// relative to the scratch directory) or with `connection` (an s3
// connection) and `key` (one key, a list, or globs: * within a folder, **
// across folders) or `prefix` (every object under it). Files are read one
// after the other and streamed: memory holds a few batches whatever a
// file's size. CSV and JSON Lines files whose name ends in .gz are
// gunzipped as they are read (and gzipped as they are written).
//
// A CSV or JSON Lines row that does not parse (a value that is not of its
// column's type, a wrong number of fields, a line that is not JSON) goes
// through the component's on_error with its file, line and value in the
// reason; on the error path its columns are strings.
//
// Destinations write to a temporary file (or a multipart upload) and only
// make it the named file when their input ends without error: a failed or
// stopped flow leaves no half-written file. An existing file is an error
// unless `overwrite: true`.
package fileio

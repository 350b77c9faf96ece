// Package s3client builds and keeps the S3 clients of a worker: one per
// region, endpoint and addressing style, made from an s3 connection with
// the worker's AWS credentials and shared by every task that reaches S3
// (the s3 task, and the data flow's file sources and destinations). It
// also reads and writes single objects as streams, lists the objects a
// glob selects, and compiles those globs, so that every user of S3 names
// objects the same way.
package s3client

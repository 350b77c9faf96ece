// Package s3standin runs an S3-compatible server inside the calling
// process, for tests and for `scaleout dev`: the s3 tasks and anything else
// that uses S3 reach it through the real AWS SDK, path-style, with any
// credentials and region.
//
// It serves github.com/johannesboyne/gofakes3 with its in-memory backend.
// The SQS stand-in, fauxqs, also answers S3 on its port, but a probe with
// the SDK's transfer manager showed its multipart uploads failing at
// CompleteMultipartUpload (InvalidPart) for a 20 MB object in 5 MB parts,
// with and without request checksums; gofakes3 passed the same probe
// (multipart upload and ranged download, CopyObject, DeleteObjects,
// ListObjectsV2 paging, LastModified), and being Go it needs no process,
// port file or install: each test binary gets its own, gone when it exits.
//
// Everything is held in memory: keep test objects small, except the few
// that must be big enough for a multipart upload.
package s3standin

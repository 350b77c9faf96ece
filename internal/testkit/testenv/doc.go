// Package testenv gives integration tests the real AWS stand-ins: Main
// starts (or reuses) DynamoDB Local and the SQS emulator for a test binary,
// starts the in-process S3 stand-in (localstack/s3standin), and points the
// SDK at them; AWS returns SDK clients and one shared set of tables and
// queues, created once; S3 returns a client and a bucket of the test's own.
//
// Every test package shares the same tables (prefix "test"), because each
// extra stream-enabled table slows DynamoDB Local down; tests isolate
// themselves by unique ids and package names.
package testenv

// Package client is the Go client of Scaleout's HTTP API: what the
// `scaleout` command uses, and what a scheduler or a CI job written in Go
// can use to deploy projects, start executions and follow them.
//
// A Client is made once with New and is safe for concurrent use. It talks
// to `scaleout dev` on 127.0.0.1:8080 with a bearer token, or to a deployed
// stack's API Gateway with requests signed by AWS SigV4 (see NewSigV4).
// Its methods take and return the API's own types (scaleouttype.Execution,
// scaleouttype.Worker, scaleouttype.Version, scaleouttype.Dashboard, ...), so nothing is
// declared twice.
//
// Every error the API answers is an *Error carrying its HTTP status, its
// stable code, its message and, for an invalid package or project, every
// problem with its location. errors.Is matches it against ErrNotFound,
// ErrUnauthenticated, ErrForbidden, ErrConflict and ErrInvalid.
//
// Reads (GET) are retried on a lost connection, on 429 and on 502-504
// (honouring Retry-After); so is a start with an Idempotency-Key, which
// makes the retry return the same execution. Other writes are sent once.
//
// A caller that wants the API's JSON exactly as it was sent (a command's
// --output json) passes Raw(&buf) to any method.
//
// Follow tails an execution's messages with the messages cursor until the
// execution reaches a final status, as `scaleout run --wait` and
// `scaleout logs --follow` do.
package client

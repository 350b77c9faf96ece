// Package api is Scaleout's HTTP API as one http.Handler. The same handler
// serves API Gateway (HTTP API, payload 2.0) events in the Lambda function,
// through aws-lambda-go-api-proxy, and plain HTTP in the local mode.
//
// Routes:
//
//	GET  /v1/health             liveness, no authentication
//	POST /v1/executions         record an execution and enqueue it (executor);
//	                            an Idempotency-Key header makes a retry return the same one
//	GET  /v1/executions         list, filtered and paged, newest first (reader)
//	POST /v1/executions/{id}/stop  cancel a pending one, stop a running one (executor)
//	GET  /v1/executions/{id}    one execution (reader)
//	GET  /v1/executions/{id}/messages  its messages, paged and tail-able (reader)
//	GET  /v1/executions/{id}/data-statistics  its data flows' rows per path (reader)
//	GET  /v1/stats              counts by status of one package (reader)
//
// Every other route needs an authenticated caller whose role allows it.
// Errors have one JSON shape: {"error": {"code": "...", "message": "..."}}.
//
// What the server reads and writes it reaches through ports (Deps), none
// of which asks for an AWS client: internal/wiring/assemble passes the
// DynamoDB and SQS adapters, the tests the in-memory ones (execmem,
// catalogmem, messages.Memory, taskqueue.Memory, aggregate.Memory), which
// pass the same conformance suites.
package api

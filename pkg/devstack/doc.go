// Package devstack is Scaleout "on a single computer", as SSIS Scale Out
// runs master and worker side by side: it starts (or reuses) the local AWS
// stand-ins, creates the tables and queues, and runs the HTTP API, one
// worker, the stream poller and the webhook sender in one process. `scaleout dev` runs it.
//
// When AWS_ENDPOINT_URL (LocalStack) or the per-service endpoint variables
// are already set, it uses those endpoints and starts no stand-ins.
package devstack

// Package devstack is Scaleout "on a single computer", as SSIS Scale Out
// runs master and worker side by side: it starts (or reuses) the local AWS
// stand-ins, creates the tables and queues, and runs the HTTP API, one
// worker, the stream poller and the webhook sender in one process. `scaleout dev` runs it.
//
// It serves S3 too, for the worker's s3 tasks: an in-process S3 stand-in
// (localstack/s3standin) on 127.0.0.1 and SCALEOUT_S3_PORT (default 9325),
// or the one `scaleout standins up` left there, named to the worker's SDK
// by AWS_ENDPOINT_URL_S3. Its objects are in memory even with a data
// directory: gofakes3's file backends are not kept up (s3bolt stores
// objects through the archived mgo BSON package on a 2020 bbolt, s3afero
// cannot page a listing), so they were not taken.
//
// When AWS_ENDPOINT_URL (LocalStack) or the per-service endpoint variables
// are already set, it uses those endpoints and starts no stand-ins (nor an
// S3 one when AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3 is set).
package devstack

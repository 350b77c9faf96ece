// Package localstackinit renders the tables and queues of a resources.Set as
// AWS CLI input files, for the LocalStack init hook
// localstack/init/ready.d/scaleout-resources.sh.
//
// Scaleout states its resources once, in package resources. Package bootstrap
// creates them through the SDK (what `scaleout dev` does at every start); this
// package turns the same requests (bootstrap.CreateTableInput,
// bootstrap.QueueAttributes) into JSON files that `awslocal ... --cli-input-json
// file://...` reads inside the LocalStack container, so a LocalStack started
// with localstack/docker-compose.yml has the tables and queues before anything
// connects to it. The files are generated for the default prefix ("scaleout")
// and pool ("default") and committed under localstack/init/ready.d/resources/:
//
//	table-<table>.json  dynamodb create-table input
//	ttl-<table>.json    dynamodb update-time-to-live input (tables with a TTL attribute)
//	queue-<queue>.json  sqs create-queue input; a queue with a dead-letter queue
//	                    has DLQARNPlaceholder as deadLetterTargetArn in its
//	                    RedrivePolicy, which the hook replaces with the ARN of
//	                    the dead-letter queue once that exists
//
// The file names carry the resource names, which the hook uses for its
// existence checks. Regenerate after changing package resources or bootstrap:
//
//	go generate ./localstack/localstackinit/
//
// The tests fail while the committed files differ from what Files renders, or
// while the hook leaves a file out.
package localstackinit

//go:generate go run ./cmd/gen -out ../init/ready.d/resources

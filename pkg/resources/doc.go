// Package resources states, once, the DynamoDB tables and SQS queues that
// Scaleout needs: their names, keys, indexes, streams, TTL and queue
// attributes. CatalogItems lists the kinds of item the catalog table holds
// (several packages share it), and the key prefixes they use.
//
// The definitions are plain Go values with no AWS dependency. The local
// bootstrap (package bootstrap) creates them through the AWS SDK against the
// stand-ins or LocalStack, and the CDK app in infra/ turns the same values
// into CloudFormation, so the two cannot drift.
package resources

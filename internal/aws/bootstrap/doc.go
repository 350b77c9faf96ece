// Package bootstrap creates the tables and queues of a resources.Set through
// the AWS SDK: against the local stand-ins, LocalStack, or an account where
// the CDK app is not used. It is idempotent: existing resources are left as
// they are, so a second start, or several test packages at once, are safe.
// An existing table whose indexes are not the ones package resources states
// (made by an older version) is an error that names the differences and
// says how to start over: Scaleout cannot read the old indexes, and
// DynamoDB cannot change an index's keys or projection in place.
package bootstrap

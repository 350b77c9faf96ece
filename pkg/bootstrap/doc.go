// Package bootstrap creates the tables and queues of a resources.Set through
// the AWS SDK: against the local stand-ins, LocalStack, or an account where
// the CDK app is not used. It is idempotent: existing resources are left as
// they are, so a second start, or several test packages at once, are safe.
package bootstrap

// Package awsconfig builds the AWS SDK clients that every Scaleout process
// uses, once, from the standard AWS environment (credentials, region and the
// AWS_ENDPOINT_URL* variables that point the SDK at LocalStack or the local
// stand-ins). Production code has no "if local" branch: the endpoint
// variables alone decide where calls go.
package awsconfig

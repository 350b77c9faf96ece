// Package secretstore is a Secrets Manager stand-in for tests: an HTTP
// server on loopback that answers GetSecretValue of the AWS JSON 1.1
// protocol as Secrets Manager does, so that code under test reads a secret
// through the real AWS SDK (secretsmanager.Client with its BaseEndpoint, or
// AWS_ENDPOINT_URL_SECRETS_MANAGER).
//
// Neither DynamoDB Local nor the SQS emulator has Secrets Manager, and
// LocalStack needs Docker. The stream function reads one secret (the
// webhook signing secret, by ARN, at start and every few minutes after),
// and this serves that and no more: secrets put with Put (changed by
// Rotate, removed by Delete), found by ARN or name, a signed request with
// the right X-Amz-Target required, ResourceNotFoundException for an
// unknown one. Any other action gets UnknownOperationException.
package secretstore

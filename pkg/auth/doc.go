// Package auth decides who is calling the HTTP API and what they may do.
//
// Roles follow the SSIS catalog: admin may do everything, executor may start,
// stop and read executions, reader may only read. An Authenticator turns a
// request into a Principal: BearerTokens checks tokens from configuration
// (the local mode, and an option on AWS); Gateway trusts the identity that
// API Gateway's IAM authorizer verified (SigV4) and maps its ARN to a role.
package auth

// Package auth decides who is calling the HTTP API and what they may do.
//
// Roles follow the SSIS catalog: admin may do everything, executor may start,
// stop and read executions, reader may only read. An Authenticator turns a
// request into a Principal: BearerTokens checks tokens from configuration
// (the local mode, and an option on AWS); Gateway trusts the identity that
// API Gateway's IAM authorizer verified (SigV4) and maps its ARN to a role;
// JWTClaims trusts the claims API Gateway's JWT authorizer verified (an
// OpenID Connect issuer such as Cognito) and maps groups or scopes to roles.
package auth

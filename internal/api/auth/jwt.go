package auth

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"
)

// DefaultRoleClaim is the JWT claim JWTClaims reads roles from by
// default: Amazon Cognito's user pool groups.
const DefaultRoleClaim = "cognito:groups"

// JWTClaims trusts API Gateway's JWT authorizer: the request reached the
// function only if its token's signature, issuer, audience and expiry were
// valid, and the token's claims are in the request context. The caller's
// role comes from the values of one claim (RoleClaim, a list such as
// Cognito's groups or a space-separated one such as scope): each value
// that Roles maps (or, without a mapping for it, that names a role:
// admin, executor, reader) gives a role, and the most powerful one wins.
type JWTClaims struct {
	// RoleClaim names the claim (default DefaultRoleClaim).
	RoleClaim string
	// Roles maps claim values (group names, scopes) to roles.
	Roles map[string]Role
}

// Authenticate implements Authenticator.
func (j JWTClaims) Authenticate(r *http.Request) (Principal, error) {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok || rc.Authorizer == nil || rc.Authorizer.JWT == nil || len(rc.Authorizer.JWT.Claims) == 0 {
		return Principal{}, fmt.Errorf("%w: send a JWT from the configured issuer as Authorization: Bearer <token> (the API uses JWT authorization)", ErrUnauthenticated)
	}
	claims := rc.Authorizer.JWT.Claims
	name := firstOf(claims, "username", "cognito:username", "email", "client_id", "sub")
	claim := j.RoleClaim
	if claim == "" {
		claim = DefaultRoleClaim
	}
	var best Role
	for _, v := range claimValues(claims[claim]) {
		role, ok := j.Roles[v]
		if !ok {
			role, _ = ParseRole(v) // a value that names a role is that role
		}
		if role != "" && (best == "" || role.Allows(best)) {
			best = role
		}
	}
	if best == "" {
		return Principal{Name: name}, fmt.Errorf("%w: caller %s has no Scaleout role: its token's %q claim holds none of the values mapped to a role (SCALEOUT_JWT_ROLES) nor admin, executor or reader", ErrUnauthenticated, name, claim)
	}
	return Principal{Name: name, Role: best}, nil
}

func firstOf(claims map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := claims[k]; v != "" {
			return v
		}
	}
	return "unnamed caller"
}

// claimValues splits a claim as API Gateway passes it: a list claim
// arrives flattened as "[a b c]" (or "[a, b]"), a scope claim as "a b c".
func claimValues(s string) []string {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '"' })
}

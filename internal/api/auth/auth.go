package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"
)

// Role is what a caller may do.
type Role string

// Roles, from most to least powerful.
const (
	Admin    Role = "admin"
	Executor Role = "executor"
	Reader   Role = "reader"
)

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case Admin, Executor, Reader:
		return r, nil
	}
	return "", fmt.Errorf("role %q: use admin, executor or reader", s)
}

// Allows reports whether a caller in role r may act as need.
func (r Role) Allows(need Role) bool {
	rank := map[Role]int{Reader: 1, Executor: 2, Admin: 3}
	return rank[r] >= rank[need] && rank[need] > 0
}

// Principal is an authenticated caller.
type Principal struct {
	// Name identifies the caller in logs (never the token itself).
	Name string
	Role Role
}

// ErrUnauthenticated means the request carries no valid credentials.
var ErrUnauthenticated = errors.New("unauthenticated")

// Authenticator identifies the caller of a request.
type Authenticator interface {
	Authenticate(r *http.Request) (Principal, error)
}

// BearerTokens authenticates "Authorization: Bearer <token>" headers
// against configured tokens.
type BearerTokens struct {
	tokens []token
}

type token struct {
	hash [32]byte
	p    Principal
}

// NewBearerTokens returns an authenticator for the given token → principal
// map. Tokens shorter than 16 characters are refused.
func NewBearerTokens(tokens map[string]Principal) (*BearerTokens, error) {
	b := &BearerTokens{}
	var errs []error
	for tok, p := range tokens {
		if len(tok) < 16 {
			errs = append(errs, fmt.Errorf("token for %q: at least 16 characters, got %d", p.Name, len(tok)))
			continue
		}
		if _, err := ParseRole(string(p.Role)); err != nil {
			errs = append(errs, fmt.Errorf("token for %q: %w", p.Name, err))
			continue
		}
		b.tokens = append(b.tokens, token{hash: sha256.Sum256([]byte(tok)), p: p})
	}
	if len(b.tokens) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no tokens configured"))
	}
	return b, errors.Join(errs...)
}

// Authenticate implements Authenticator. Tokens are compared in constant
// time, by hash.
func (b *BearerTokens) Authenticate(r *http.Request) (Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return Principal{}, fmt.Errorf("%w: send the header \"Authorization: Bearer <token>\"", ErrUnauthenticated)
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	for _, t := range b.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.hash[:]) == 1 {
			return t.p, nil
		}
	}
	return Principal{}, fmt.Errorf("%w: the bearer token is not valid", ErrUnauthenticated)
}

// Gateway trusts API Gateway's IAM authorizer: the request reached the
// function only if its SigV4 signature was valid, and the verified caller
// ARN is in the request context. Roles maps caller ARNs to roles; see
// CheckIAMPattern for what a key may be. The most specific key that
// matches wins.
//
// A caller with a role arrives as its session,
// arn:aws:sts::<account>:assumed-role/<name>/<session>, never as the role's
// ARN: a role ARN key (arn:aws:iam::<account>:role/<path>/<name>) matches
// every session of that role. The session ARN carries the role's name but
// not its path; since a role's name is unique in its account whatever its
// path, the path of an exact role ARN is not needed to match and is
// ignored. A role ARN ending in '*' matches role names by prefix, and may
// not name a path (which the session cannot show).
type Gateway struct {
	Roles map[string]Role
}

// Authenticate implements Authenticator.
func (g Gateway) Authenticate(r *http.Request) (Principal, error) {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok || rc.Authorizer == nil || rc.Authorizer.IAM == nil || rc.Authorizer.IAM.UserARN == "" {
		return Principal{}, fmt.Errorf("%w: sign the request with SigV4 (the API uses IAM authorization)", ErrUnauthenticated)
	}
	arn := rc.Authorizer.IAM.UserARN
	best, role := -1, Role("")
	for pattern, ro := range g.Roles {
		if n, ok := matchARN(pattern, arn); ok && n > best {
			best, role = n, ro
		}
	}
	if role == "" {
		return Principal{Name: arn}, fmt.Errorf("%w: caller %s has no Scaleout role", ErrUnauthenticated, arn)
	}
	return Principal{Name: arn, Role: role}, nil
}

// CheckIAMPattern reports whether pattern can be a key of Gateway.Roles: a
// caller ARN (an IAM user, an assumed-role session, an account root), a
// role ARN (arn:aws:iam::<account>:role/[<path>/]<name>, matching the
// role's sessions), or either ending in '*' to match a prefix. A role
// ARN with a path and a '*' is refused: sessions do not show the path, so
// it could only be matched by ignoring it, admitting roles of the same
// name prefix under every path.
func CheckIAMPattern(pattern string) error {
	if !strings.HasPrefix(pattern, "arn:") {
		return fmt.Errorf("%q is not an ARN: give an IAM or STS ARN such as arn:aws:iam::<account>:role/<name>, arn:aws:sts::<account>:assumed-role/<name>/* or arn:aws:iam::<account>:user/<name>", pattern)
	}
	if rest, wild := strings.CutSuffix(pattern, "*"); wild {
		if _, name, ok := splitRoleARN(rest); ok && strings.Contains(name, "/") {
			return fmt.Errorf("%q: a role path cannot be matched with '*' (a caller's session ARN, arn:aws:sts::<account>:assumed-role/<name>/<session>, holds the role's name, not its path): name each role, or match names with role/<prefix>*", pattern)
		}
	}
	return nil
}

// splitRoleARN splits arn:<partition>:iam::<account>:role/<path/name> into
// "arn:<partition>:sts::<account>:assumed-role/" and "<path/name>".
func splitRoleARN(arn string) (sessionPrefix, pathName string, ok bool) {
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[0] != "arn" || f[2] != "iam" || f[3] != "" {
		return "", "", false
	}
	pathName, ok = strings.CutPrefix(f[5], "role/")
	if !ok {
		return "", "", false
	}
	return "arn:" + f[1] + ":sts::" + f[4] + ":assumed-role/", pathName, true
}

// matchARN reports whether caller matches pattern (a Gateway.Roles key)
// and how specific the match is: the length of the caller's prefix it
// fixes.
func matchARN(pattern, caller string) (int, bool) {
	prefix, wild := strings.CutSuffix(pattern, "*")
	if session, pathName, ok := splitRoleARN(prefix); ok {
		if wild {
			if strings.Contains(pathName, "/") {
				return 0, false // refused by CheckIAMPattern
			}
			prefix = session + pathName
		} else {
			// The role's sessions: assumed-role/<name>/<session>.
			name := pathName[strings.LastIndex(pathName, "/")+1:]
			if name == "" {
				return 0, false
			}
			prefix, wild = session+name+"/", true
		}
	}
	if wild && strings.HasPrefix(caller, prefix) || !wild && caller == pattern {
		return len(prefix), true
	}
	return 0, false
}

type ctxKey struct{}

// WithPrincipal stores p in ctx.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal stored by WithPrincipal.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

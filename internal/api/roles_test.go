package api_test

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/api/auth"
)

const executorToken = "executor-token-0123456"

var param = regexp.MustCompile(`\{[a-z_]+\}`)

// Every role against every route: a route without a role answers anyone;
// every other one answers 401 without a token, 403 to a role below the
// route's, and neither to a role at or above it.
func TestEveryRoleAgainstEveryRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.server
	tokens := map[auth.Role]string{auth.Admin: adminToken, auth.Executor: executorToken, auth.Reader: readerToken, "": ""}
	for _, rt := range s.Routes() {
		path := param.ReplaceAllStringFunc(rt.Path, func(p string) string {
			if p == "{id}" {
				return "01a21404-fe6e-7674-964b-99a66dab3bca"
			}
			return "x"
		})
		for role, token := range tokens {
			t.Run(rt.Method+" "+rt.Path+" as "+string(role), func(t *testing.T) {
				t.Parallel()
				code, out, _ := do(t, b, rt.Method, path, token, "{}")
				switch {
				case rt.Role == "":
					require.NotEqual(t, http.StatusUnauthorized, code, out)
					require.NotEqual(t, http.StatusForbidden, code, out)
				case role == "":
					require.Equal(t, http.StatusUnauthorized, code, out)
				case !role.Allows(rt.Role):
					require.Equal(t, http.StatusForbidden, code, out)
				default:
					require.NotEqual(t, http.StatusUnauthorized, code, out)
					require.NotEqual(t, http.StatusForbidden, code, out)
					require.Less(t, code, 500, out)
				}
			})
		}
	}
}

// Health is the only route without a role.
func TestOnlyHealthIsOpen(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, rt := range b.server.Routes() {
		if rt.Role == "" {
			require.Equal(t, "/v1/health", rt.Path)
		}
	}
}

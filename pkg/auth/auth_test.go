package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/stretchr/testify/require"
)

func TestRoleAllows(t *testing.T) {
	t.Parallel()
	require.True(t, Admin.Allows(Executor))
	require.True(t, Executor.Allows(Reader))
	require.False(t, Reader.Allows(Executor))
	require.False(t, Role("").Allows(Reader))
	_, err := ParseRole("root")
	require.ErrorContains(t, err, `role "root"`)
}

func TestBearerTokens(t *testing.T) {
	t.Parallel()
	b, err := NewBearerTokens(map[string]Principal{
		"admin-token-0123456789": {Name: "ops", Role: Admin},
		"reader-token-012345678": {Name: "dash", Role: Reader},
	})
	require.NoError(t, err)
	for _, tc := range []struct {
		header string
		want   Principal
		err    string
	}{
		{"Bearer admin-token-0123456789", Principal{Name: "ops", Role: Admin}, ""},
		{"bearer reader-token-012345678", Principal{Name: "dash", Role: Reader}, ""},
		{"", Principal{}, `send the header`},
		{"Basic abc", Principal{}, `send the header`},
		{"Bearer wrong-token-0123456789", Principal{}, "not valid"},
	} {
		r := httptest.NewRequest("GET", "/v1/executions/x", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		p, err := b.Authenticate(r)
		if tc.err != "" {
			require.ErrorIs(t, err, ErrUnauthenticated)
			require.ErrorContains(t, err, tc.err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, p)
	}
	_, err = NewBearerTokens(map[string]Principal{"short": {Name: "x", Role: Admin}})
	require.ErrorContains(t, err, "at least 16 characters")
	_, err = NewBearerTokens(nil)
	require.ErrorContains(t, err, "no tokens")
}

func TestGateway(t *testing.T) {
	t.Parallel()
	g := Gateway{Roles: map[string]Role{
		"arn:aws:sts::123456789012:assumed-role/scheduler/*": Executor,
		"arn:aws:iam::123456789012:user/alice":               Admin,
	}}
	for _, tc := range []struct {
		arn  string
		want Role
		ok   bool
	}{
		{"arn:aws:sts::123456789012:assumed-role/scheduler/session-1", Executor, true},
		{"arn:aws:iam::123456789012:user/alice", Admin, true},
		{"arn:aws:iam::123456789012:user/bob", "", false},
		{"", "", false},
	} {
		ev := events.APIGatewayV2HTTPRequest{RawPath: "/v1/executions/x", RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/v1/executions/x"},
		}}
		if tc.arn != "" {
			ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: tc.arn},
			}
		}
		var acc core.RequestAccessorV2
		r, err := acc.EventToRequestWithContext(context.Background(), ev)
		require.NoError(t, err)
		p, err := g.Authenticate(r)
		if !tc.ok {
			require.ErrorIs(t, err, ErrUnauthenticated)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, p.Role)
	}
}

// gatewayRequest is a request as the API function gets it from an HTTP API
// whose IAM authorizer verified callerARN.
func gatewayRequest(t *testing.T, callerARN string) *http.Request {
	t.Helper()
	ev := events.APIGatewayV2HTTPRequest{RawPath: "/v1/executions", RequestContext: events.APIGatewayV2HTTPRequestContext{
		HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/v1/executions"},
		Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: callerARN},
		},
	}}
	var acc core.RequestAccessorV2
	r, err := acc.EventToRequestWithContext(context.Background(), ev)
	require.NoError(t, err)
	return r
}

// Role ARNs, as IAM_ROLES documents them, admit the sessions the IAM
// authorizer reports for callers that assumed those roles.
func TestGatewayRoleARNs(t *testing.T) {
	t.Parallel()
	g := Gateway{Roles: map[string]Role{
		"arn:aws:iam::123456789012:role/ops":                                                                               Admin,
		"arn:aws:iam::123456789012:role/service-role/airflow-workers":                                                      Executor,
		"arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_ReadOnly_0123456789abcdef": Reader,
		"arn:aws:iam::123456789012:role/etl-*":                                                                             Executor,
		"arn:aws:iam::123456789012:role/etl-admin":                                                                         Admin,
		"arn:aws:sts::123456789012:assumed-role/ops/break-glass":                                                           Reader,
		"arn:aws-cn:iam::123456789012:role/ops":                                                                            Executor,
		"arn:aws:iam::210987654321:role/*":                                                                                 Reader,
		"arn:aws:iam::123456789012:role/teams/*":                                                                           Admin, // refused by CheckIAMPattern; never matches
		"arn:aws:iam::123456789012:user/alice":                                                                             Admin,
		"arn:aws:sts::123456789012:assumed-role/scheduler/*":                                                               Executor,
		"arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/":                                               Admin, // no name
	}}
	for _, tc := range []struct {
		caller string
		want   Role
	}{
		{"arn:aws:sts::123456789012:assumed-role/ops/alice@example.com", Admin},
		{"arn:aws:sts::123456789012:assumed-role/ops/1700000000000000000", Admin},
		{"arn:aws:sts::123456789012:assumed-role/airflow-workers/i-0abc123", Executor}, // role path service-role/
		{"arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_ReadOnly_0123456789abcdef/bob@example.com", Reader},
		{"arn:aws:sts::123456789012:assumed-role/etl-loader/task-1", Executor},
		{"arn:aws:sts::123456789012:assumed-role/etl-admin/task-1", Admin}, // the exact role beats the prefix
		{"arn:aws:sts::123456789012:assumed-role/ops/break-glass", Reader}, // the exact session beats the role
		{"arn:aws-cn:sts::123456789012:assumed-role/ops/s", Executor},
		{"arn:aws:sts::210987654321:assumed-role/anything/s", Reader},
		{"arn:aws:iam::123456789012:user/alice", Admin},
		{"arn:aws:sts::123456789012:assumed-role/scheduler/s", Executor},
		// Not admitted.
		{"arn:aws:sts::123456789012:assumed-role/ops-extra/s", ""},         // another role
		{"arn:aws:sts::123456789012:assumed-role/opsx/s", ""},              // a longer name
		{"arn:aws:sts::999999999999:assumed-role/ops/s", ""},               // another account
		{"arn:aws:sts::123456789012:assumed-role/teams/s", ""},             // a path is not a name
		{"arn:aws:sts::123456789012:federated-user/ops", ""},               // not a role session
		{"arn:aws:iam::123456789012:user/ops", ""},                         // a user named like the role
		{"arn:aws:sts::123456789012:assumed-role/ecs.amazonaws.com/s", ""}, // a path segment
		{"arn:aws:sts::123456789012:assumed-role/airflow-workersx/s", ""},  // a longer name
		{"arn:aws:sts::123456789012:assumed-role/service-role/s", ""},      // the path's segment
		{"arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_ReadOnly/s", ""},
	} {
		t.Run(tc.caller, func(t *testing.T) {
			t.Parallel()
			p, err := g.Authenticate(gatewayRequest(t, tc.caller))
			if tc.want == "" {
				require.ErrorIs(t, err, ErrUnauthenticated)
				require.ErrorContains(t, err, "has no Scaleout role")
				return
			}
			require.NoError(t, err)
			require.Equal(t, Principal{Name: tc.caller, Role: tc.want}, p)
		})
	}
}

func TestCheckIAMPattern(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{
		"arn:aws:iam::123456789012:role/ops",
		"arn:aws:iam::123456789012:role/service-role/airflow",
		"arn:aws:iam::123456789012:role/etl-*",
		"arn:aws:iam::123456789012:role/*",
		"arn:aws:sts::123456789012:assumed-role/ops/*",
		"arn:aws:iam::123456789012:user/alice",
		"arn:aws:iam::123456789012:user/team/*",
		"arn:aws:iam::000000000000:root",
	} {
		require.NoError(t, CheckIAMPattern(ok), ok)
	}
	require.ErrorContains(t, CheckIAMPattern("arn:aws:iam::123456789012:role/teams/*"), "a role path cannot be matched with '*'")
	require.ErrorContains(t, CheckIAMPattern("ops"), "is not an ARN")
}

func TestJWTClaims(t *testing.T) {
	t.Parallel()
	j := JWTClaims{Roles: map[string]Role{"etl-operators": Executor, "data-platform": Admin}}
	scopes := JWTClaims{RoleClaim: "scope", Roles: map[string]Role{"scaleout/read": Reader, "scaleout/run": Executor}}
	for _, tc := range []struct {
		name   string
		auth   JWTClaims
		claims map[string]string
		want   Role
		caller string
	}{
		{"a mapped group", j, map[string]string{"sub": "u-1", "username": "ada", "cognito:groups": "[etl-operators]"}, Executor, "ada"},
		{"the most powerful of several", j, map[string]string{"sub": "u-2", "cognito:groups": "[etl-operators data-platform]"}, Admin, "u-2"},
		{"a group named for a role", j, map[string]string{"sub": "u-3", "cognito:groups": "[reader]"}, Reader, "u-3"},
		{"comma-separated list", j, map[string]string{"email": "g@example.com", "cognito:groups": "[marketing, etl-operators]"}, Executor, "g@example.com"},
		{"scopes of a machine client", scopes, map[string]string{"client_id": "airflow", "scope": "scaleout/read scaleout/run"}, Executor, "airflow"},
		{"no role", j, map[string]string{"sub": "u-4", "cognito:groups": "[marketing]"}, "", ""},
		{"no claim", j, map[string]string{"sub": "u-5"}, "", ""},
		{"no JWT at all", j, nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := events.APIGatewayV2HTTPRequest{RawPath: "/v1/workers", RequestContext: events.APIGatewayV2HTTPRequestContext{
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/v1/workers"},
			}}
			if tc.claims != nil {
				ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
					JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: tc.claims},
				}
			}
			var acc core.RequestAccessorV2
			r, err := acc.EventToRequestWithContext(context.Background(), ev)
			require.NoError(t, err)
			p, err := tc.auth.Authenticate(r)
			if tc.want == "" {
				require.ErrorIs(t, err, ErrUnauthenticated)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, p.Role)
			require.Equal(t, tc.caller, p.Name)
		})
	}
}

package netguard_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/worker/netguard"
	"github.com/scaleout/scaleout/internal/worker/netguard/netguardtest"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]netguard.Policy{"": netguard.Private, "private": netguard.Private, " Public ": netguard.Public} {
		got, err := netguard.Parse(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := netguard.Parse("none")
	require.ErrorContains(t, err, `use "private"`)
}

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr            string
		private, public string // "" allowed, else a word of the reason
	}{
		{"169.254.169.254", "instance metadata", "instance metadata"},
		{"169.254.170.2", "ECS credentials", "ECS credentials"},
		{"fd00:ec2::254", "instance metadata", "instance metadata"},
		{"::ffff:169.254.169.254", "instance metadata", "instance metadata"},
		{"64:ff9b::a9fe:a9fe", "NAT64", "NAT64"},
		{"169.254.1.1", "link-local", "link-local"},
		{"fe80::1", "link-local", "link-local"},
		{"127.0.0.1", "", "loopback"},
		{"::1", "", "loopback"},
		{"10.1.2.3", "", "private"},
		{"192.168.0.1", "", "private"},
		{"fd12::1", "", "private"},
		{"100.64.0.1", "", "reserved"},
		{"0.0.0.0", "", "unspecified"},
		{"93.184.216.34", "", ""},
		{"2606:4700::1111", "", ""},
	} {
		for _, p := range []struct {
			policy netguard.Policy
			want   string
		}{{netguard.Private, tc.private}, {netguard.Public, tc.public}} {
			err := p.policy.Check(netip.MustParseAddr(tc.addr))
			if p.want == "" {
				require.NoError(t, err, "%s under %s", tc.addr, p.policy)
				continue
			}
			require.ErrorIs(t, err, netguard.ErrRefused, "%s under %s", tc.addr, p.policy)
			require.Contains(t, err.Error(), p.want, "%s under %s", tc.addr, p.policy)
		}
	}
}

// client is an HTTP client whose connections policy checks, resolving
// names with the fake resolver.
func client(policy netguard.Policy, names map[string][]string) *http.Client {
	d := policy.Dialer(&net.Dialer{Timeout: 2 * time.Second, Resolver: netguardtest.Resolver(names)})
	tr := &http.Transport{DialContext: d.DialContext}
	return &http.Client{Transport: tr}
}

// A name that resolves to a metadata address is refused on the address,
// as is a redirect from an allowed server to one; the allowed server
// itself is reached.
func TestDialerChecksResolvedAddressesAndRedirects(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/imds":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/iam/security-credentials/", http.StatusFound)
		case "/ecs":
			http.Redirect(w, r, "http://169.254.170.2/v2/credentials/abc", http.StatusTemporaryRedirect)
		case "/name":
			http.Redirect(w, r, "http://imds.example.test/latest/", http.StatusFound)
		default:
			_, _ = w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	names := map[string][]string{
		"imds.example.test":  {"169.254.169.254"},
		"ecs.example.test":   {"169.254.170.2"},
		"imds6.example.test": {"fd00:ec2::254"},
		"local.example.test": {"127.0.0.1"},
	}
	c := client(netguard.Private, names)
	for _, target := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://169.254.170.2/v2/credentials/abc",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"http://imds.example.test/latest/meta-data/",
		"http://ecs.example.test/v2/credentials/abc",
		"http://imds6.example.test/latest/meta-data/",
		srv.URL + "/imds",
		srv.URL + "/ecs",
		srv.URL + "/name",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		cancel()
		if resp != nil {
			resp.Body.Close()
		}
		require.ErrorIs(t, err, netguard.ErrRefused, target)
		var refused *netguard.RefusedError
		require.ErrorAs(t, err, &refused, target)
		require.Contains(t, err.Error(), "packages may not reach it", target)
	}

	// Loopback stays reachable under Private, by address and by name.
	for _, target := range []string{srv.URL + "/", "http://local.example.test" + port + "/"} {
		resp, err := c.Get(target)
		require.NoError(t, err, target)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	// Public refuses it, with the setting that decided.
	_, err := client(netguard.Public, names).Get("http://local.example.test" + port + "/")
	require.ErrorIs(t, err, netguard.ErrRefused)
	require.ErrorContains(t, err, "SCALEOUT_TASK_NETWORK=public")
}

// The dialer keeps a Control hook it was given, after its own check.
func TestDialerKeepsControl(t *testing.T) {
	t.Parallel()
	called := false
	d := netguard.Private.Dialer(&net.Dialer{Control: func(string, string, syscall.RawConn) error { called = true; return nil }})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c, err := d.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	c.Close()
	require.True(t, called)
}

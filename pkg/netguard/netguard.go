package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// Policy says which addresses connections may reach.
type Policy string

// Policies.
const (
	// Private, the default, refuses link-local and metadata addresses.
	Private Policy = "private"
	// Public refuses loopback, private, link-local, metadata and reserved
	// addresses: only the internet is reachable.
	Public Policy = "public"
)

// Parse reads a policy's name; empty means Private.
func Parse(s string) (Policy, error) {
	switch p := Policy(strings.ToLower(strings.TrimSpace(s))); p {
	case "":
		return Private, nil
	case Private, Public:
		return p, nil
	}
	return "", fmt.Errorf("%q: use %q (every address but link-local and metadata ones) or %q (public addresses only)", s, Private, Public)
}

// metadata names the addresses where AWS hands out credentials.
var metadata = map[netip.Addr]string{
	netip.MustParseAddr("169.254.169.254"): "the EC2 instance metadata service",
	netip.MustParseAddr("fd00:ec2::254"):   "the EC2 instance metadata service (IPv6)",
	netip.MustParseAddr("169.254.170.2"):   "the ECS credentials and task metadata endpoint",
}

// nat64 embeds IPv4 addresses in IPv6 (RFC 6052): a NAT64 gateway would
// reach the embedded address.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// reserved are ranges Public refuses besides those netip classifies:
// "this network", carrier-grade NAT, IETF protocol assignments,
// benchmarking and the reserved class E.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
}

// RefusedError is a connection a Policy refused.
type RefusedError struct {
	Addr   netip.Addr
	Policy Policy
	// Reason says what kind of address it is.
	Reason string
}

func (e *RefusedError) Error() string {
	if e.Policy == Public && !strings.Contains(e.Reason, "metadata") && !strings.HasPrefix(e.Reason, "link-local") {
		return fmt.Sprintf("connection to %s refused: %s, and this worker lets packages reach public addresses only (SCALEOUT_TASK_NETWORK=public)", e.Addr, e.Reason)
	}
	return fmt.Sprintf("connection to %s refused: %s, where AWS hands out the worker's credentials; packages may not reach it", e.Addr, e.Reason)
}

// ErrRefused is matched (errors.Is) by every RefusedError.
var ErrRefused = errors.New("connection refused by the network policy")

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Check says why p refuses a, or returns nil.
func (p Policy) Check(a netip.Addr) error {
	a = a.Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		if why := p.reason(netip.AddrFrom4([4]byte(b[12:]))); why != "" {
			return &RefusedError{Addr: a, Policy: p, Reason: why + " (through NAT64)"}
		}
	}
	if why := p.reason(a); why != "" {
		return &RefusedError{Addr: a, Policy: p, Reason: why}
	}
	return nil
}

func (p Policy) reason(a netip.Addr) string {
	if what, ok := metadata[a]; ok {
		return "the address of " + what
	}
	if a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() {
		return "a link-local address (169.254.0.0/16, fe80::/10: the metadata and credentials endpoints live there)"
	}
	if p != Public {
		return ""
	}
	switch {
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a.IsUnspecified():
		return "the unspecified address"
	case a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return "a multicast address"
	}
	for _, r := range reserved {
		if r.Contains(a) {
			return "a reserved address"
		}
	}
	return ""
}

// Control is a net.Dialer Control hook: it refuses a connection to an
// address p refuses. It runs on the address being dialed, after name
// resolution.
func (p Policy) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("connection to %s refused: not an IP address and port: %w", address, ErrRefused)
	}
	return p.Check(ap.Addr())
}

// Dialer returns a copy of d (a zero dialer when nil) whose connections p
// checks before d's own Control or ControlContext hook runs.
func (p Policy) Dialer(d *net.Dialer) *net.Dialer {
	out := &net.Dialer{}
	if d != nil {
		*out = *d
	}
	if prev := out.ControlContext; prev != nil {
		out.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
			if err := p.Control(network, address, c); err != nil {
				return err
			}
			return prev(ctx, network, address, c)
		}
		return out
	}
	prev := out.Control
	out.Control = func(network, address string, c syscall.RawConn) error {
		if err := p.Control(network, address, c); err != nil {
			return err
		}
		if prev != nil {
			return prev(network, address, c)
		}
		return nil
	}
	return out
}

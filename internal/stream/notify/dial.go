package notify

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// blockedPrefixes are address ranges a webhook may not reach unless private
// targets are allowed: besides loopback, private, link-local (the instance
// metadata service at 169.254.169.254 among them), unspecified and
// multicast addresses, which netip classifies, the shared address space of
// carrier-grade NAT and the IPv4 ranges reserved for other uses.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64 can reach any IPv4 address
}

// blockedAddr says why a webhook may not connect to a, or "".
func blockedAddr(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "link-local (instance metadata)"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, p := range blockedPrefixes {
		if p.Contains(a) {
			return "reserved"
		}
	}
	return ""
}

// guardDial refuses connections to addresses blockedAddr names. It runs
// on the address being dialed, after name resolution and on every
// redirect, so a public name that resolves to a private address is refused
// too (no DNS rebinding around it).
func guardDial(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return permanent(fmt.Errorf("webhook target %s: %w", address, err))
	}
	if why := blockedAddr(ap.Addr()); why != "" {
		return permanent(fmt.Errorf("webhook target %s is a %s address: refused (callback URLs must reach the internet; set SCALEOUT_WEBHOOK_ALLOW_PRIVATE=true to allow private targets)", ap.Addr(), why))
	}
	return nil
}

// NewClient returns the HTTP client webhooks are sent with: it follows at
// most 5 redirects, only to the same host and only to http or https, and,
// unless allowPrivate, connects only to public addresses: a callback URL
// cannot make the stream function reach into its own network, loopback or
// the instance metadata service.
func NewClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if !allowPrivate {
		d.Control = guardDial
		tr.Proxy = nil // a proxy would dial for us, around the check
	}
	tr.DialContext = d.DialContext
	return &http.Client{Transport: tr, CheckRedirect: checkRedirect}
}

// Package netguardtest gives tests a resolver whose answers they choose,
// so that they can point a name at a metadata address without a DNS
// server or /etc/hosts.
package netguardtest

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
)

// Resolver returns a pure-Go resolver that answers A and AAAA queries from
// names (a host name, without a trailing dot, to its addresses) and says
// that any other name does not exist. It never reads /etc/resolv.conf's
// servers.
func Resolver(names map[string][]string) *net.Resolver {
	table := map[string][]netip.Addr{}
	for n, addrs := range names {
		for _, a := range addrs {
			table[strings.ToLower(strings.TrimSuffix(n, "."))] = append(table[strings.ToLower(strings.TrimSuffix(n, "."))], netip.MustParseAddr(a))
		}
	}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			client, server := net.Pipe()
			go serve(server, table)
			return client, nil
		},
	}
}

// serve answers queries framed as over TCP (a two-byte length first),
// which is how the Go resolver talks over a connection that is not a
// net.PacketConn.
func serve(c net.Conn, table map[string][]netip.Addr) {
	defer c.Close()
	for {
		var n uint16
		if binary.Read(c, binary.BigEndian, &n) != nil {
			return
		}
		q := make([]byte, n)
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		resp := answer(q, table)
		if resp == nil {
			return
		}
		if _, err := c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(resp)))); err != nil {
			return
		}
		if _, err := c.Write(resp); err != nil {
			return
		}
	}
}

// answer builds the response to the query q (RFC 1035 section 4).
func answer(q []byte, table map[string][]netip.Addr) []byte {
	if len(q) < 12 {
		return nil
	}
	// The question: labels up to a zero byte, then type and class.
	i := 12
	var labels []string
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return nil
	}
	question := q[12 : i+5]
	qtype := binary.BigEndian.Uint16(q[i+1:])
	addrs, known := table[strings.ToLower(strings.Join(labels, "."))]
	var answers [][]byte
	for _, a := range addrs {
		if (qtype == 1 && a.Is4()) || (qtype == 28 && a.Is6()) {
			rr := []byte{0xC0, 12} // the name: a pointer to the question's
			rr = binary.BigEndian.AppendUint16(rr, qtype)
			rr = binary.BigEndian.AppendUint16(rr, 1) // class IN
			rr = binary.BigEndian.AppendUint32(rr, 60)
			ip := a.AsSlice()
			rr = binary.BigEndian.AppendUint16(rr, uint16(len(ip)))
			answers = append(answers, append(rr, ip...))
		}
	}
	flags := uint16(0x8180) // a response, recursion desired and available
	if !known {
		flags |= 3 // NXDOMAIN
	}
	out := append([]byte{}, q[0:2]...)
	out = binary.BigEndian.AppendUint16(out, flags)
	out = binary.BigEndian.AppendUint16(out, 1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(answers)))
	out = binary.BigEndian.AppendUint16(out, 0)
	out = binary.BigEndian.AppendUint16(out, 0)
	out = append(out, question...)
	for _, rr := range answers {
		out = append(out, rr...)
	}
	return out
}

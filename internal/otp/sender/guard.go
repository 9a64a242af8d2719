package sender

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// ErrNonPublicAddress: a connection was refused because its address is
// not on the public internet (PublicOnly).
var ErrNonPublicAddress = errors.New("sender: destination address is not public")

// nonPublic are the ranges PublicAddress refuses beyond the standard
// library's classes: shared address space (CGNAT), IETF protocol
// assignments, documentation and benchmarking nets, reserved space, and
// the IPv6 prefixes that embed an IPv4 address (NAT64, 6to4), which could
// reach a private one.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("fec0::/10"),
}

// PublicAddress reports whether ip is a public unicast address: not
// loopback, private (RFC 1918, unique local), link-local (cloud metadata
// services live at 169.254.169.254), multicast, unspecified, nor in the
// other special-purpose ranges above.
func PublicAddress(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// PublicOnly is a net.Dialer Control function that refuses connections
// to addresses that are not public. It runs after name resolution, on
// the address actually dialled, so a name that resolves (or later
// re-resolves) to an internal address cannot reach it.
func PublicOnly(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrNonPublicAddress, address)
	}
	if !PublicAddress(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrNonPublicAddress, ap.Addr())
	}
	return nil
}

package sender

import (
	"errors"
	"net/netip"
	"testing"
)

func TestPublicOnly(t *testing.T) {
	for addr, public := range map[string]bool{
		"8.8.8.8:443": true, "[2606:4700:4700::1111]:443": true, "93.184.216.34:25": true,
		"127.0.0.1:443": false, "[::1]:443": false, "10.0.0.1:443": false, "172.16.5.4:587": false,
		"192.168.1.1:443": false, "169.254.169.254:80": false, "[fe80::1]:443": false, "[fd00::1]:443": false,
		"100.64.0.1:443": false, "0.0.0.0:443": false, "[::]:443": false, "224.0.0.1:443": false,
		"[::ffff:10.0.0.1]:443": false, "[::ffff:8.8.8.8]:443": true, "[64:ff9b::a00:1]:443": false, "255.255.255.255:443": false,
	} {
		err := PublicOnly("tcp", addr, nil)
		if public != (err == nil) {
			t.Errorf("%s: %v, want public=%v", addr, err, public)
		}
		if err != nil && !errors.Is(err, ErrNonPublicAddress) {
			t.Errorf("%s: %v does not match ErrNonPublicAddress", addr, err)
		}
	}
	if PublicAddress(netip.Addr{}) {
		t.Error("the zero address is public")
	}
}

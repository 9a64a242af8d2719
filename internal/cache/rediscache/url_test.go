package rediscache

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name       string
		url        string
		wantErr    string // substring; "" means success
		wantAddrs  []string
		wantMaster string
		wantDB     int
		wantTLS    bool
		check      func(t *testing.T, o *redis.UniversalOptions)
	}{
		{name: "plain", url: "redis://localhost:6380/2", wantAddrs: []string{"localhost:6380"}, wantDB: 2},
		{name: "defaults", url: "redis://", wantAddrs: []string{"localhost:6379"}},
		{name: "tls", url: "rediss://:pw@redis.example:6380/0", wantAddrs: []string{"redis.example:6380"}, wantTLS: true},
		{
			name: "credentials and options", url: "redis://user:pw@h:1/0?dial_timeout=2s&pool_size=7",
			wantAddrs: []string{"h:1"},
			check: func(t *testing.T, o *redis.UniversalOptions) {
				if o.Username != "user" || o.Password != "pw" || o.DialTimeout != 2*time.Second || o.PoolSize != 7 {
					t.Errorf("Username %q, Password %q, DialTimeout %v, PoolSize %d", o.Username, o.Password, o.DialTimeout, o.PoolSize)
				}
			},
		},
		{name: "cluster", url: "redis://a:1?addrs=b:2,%20c:3", wantAddrs: []string{"a:1", "b:2", "c:3"}},
		{name: "sentinel", url: "redis://s1:26379/1?master_name=mymaster&addrs=s2:26379", wantAddrs: []string{"s1:26379", "s2:26379"}, wantMaster: "mymaster", wantDB: 1},
		{name: "cluster with database", url: "redis://a:1/3?addrs=b:2", wantErr: "only database 0"},
		{name: "wrong scheme", url: "http://localhost", wantErr: "scheme must be redis or rediss"},
		{name: "unix not supported", url: "unix:///tmp/redis.sock", wantErr: "scheme must be redis or rediss"},
		{name: "bad database", url: "redis://:secretpw@h/x", wantErr: "invalid database number"},
		{name: "unknown option", url: "redis://:secretpw@h/0?bogus=1", wantErr: "unexpected option"},
		{name: "unparsable", url: "redis://:secretpw@h:port/0", wantErr: "invalid URL"},
		{name: "unparsable userinfo", url: "redis://u:secret pw@h/0", wantErr: "invalid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseURL(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseURL(%q) error = %v, want one containing %q", tt.url, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secretpw") || strings.Contains(err.Error(), "secret pw") {
					t.Fatalf("error leaks the password: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseURL(%q): %v", tt.url, err)
			}
			if strings.Join(o.Addrs, ",") != strings.Join(tt.wantAddrs, ",") {
				t.Errorf("Addrs = %v, want %v", o.Addrs, tt.wantAddrs)
			}
			if o.MasterName != tt.wantMaster || o.DB != tt.wantDB || (o.TLSConfig != nil) != tt.wantTLS {
				t.Errorf("MasterName %q DB %d TLS %v; want %q %d %v", o.MasterName, o.DB, o.TLSConfig != nil, tt.wantMaster, tt.wantDB, tt.wantTLS)
			}
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

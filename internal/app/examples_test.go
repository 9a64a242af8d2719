package app_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/header_mutation/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	"github.com/authd/authd/internal/forwardauth"
)

// The proxy examples under deploy/examples stay in step with authd: each
// passes every identity header on, names the api_key header where the
// proxy would drop it, and calls the endpoint the proxy needs. nginx and
// Caddy run them for real (TestForwardAuthBehindNginx,
// TestForwardAuthBehindCaddy); Envoy's is checked against Envoy's own
// API definitions; Traefik's by its fields.

const examplesDir = "../../deploy/examples"

func readExample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var identityHeaders = []string{forwardauth.HeaderSubject, forwardauth.HeaderSubjectType, forwardauth.HeaderOrganisation,
	forwardauth.HeaderMode, forwardauth.HeaderScopes, forwardauth.HeaderServiceOwner}

func TestExampleNginxPassesEveryHeader(t *testing.T) {
	conf := readExample(t, "nginx/authd.conf")
	for _, h := range identityHeaders {
		v := "$upstream_http_" + strings.ReplaceAll(strings.ToLower(h), "-", "_")
		if !strings.Contains(conf, v) || !regexp.MustCompile(`proxy_set_header\s+`+h+`\s`).MatchString(conf) {
			t.Errorf("nginx/authd.conf does not pass %s on (auth_request_set from %s, proxy_set_header)", h, v)
		}
	}
	for _, want := range []string{"underscores_in_headers on;", "proxy_set_header X-Original-URI $request_uri;", "/forward-auth;"} {
		if !strings.Contains(conf, want) {
			t.Errorf("nginx/authd.conf lacks %q", want)
		}
	}
}

func TestExampleCaddyfile(t *testing.T) {
	conf := readExample(t, "caddy/Caddyfile")
	m := regexp.MustCompile(`copy_headers ([^\n]+)`).FindStringSubmatch(conf)
	if m == nil || !slices.Equal(strings.Fields(m[1]), identityHeaders) {
		t.Errorf("Caddyfile copy_headers %q, want %v", m, identityHeaders)
	}
	for _, want := range []string{"expected_underscore_headers api_key", "uri /forward-auth"} {
		if !strings.Contains(conf, want) {
			t.Errorf("Caddyfile lacks %q", want)
		}
	}
	if caddy, err := exec.LookPath("caddy"); err == nil {
		out, err := exec.Command(caddy, "validate", "--adapter", "caddyfile", "--config", filepath.Join(examplesDir, "caddy/Caddyfile")).CombinedOutput()
		if err != nil {
			t.Fatalf("caddy validate: %v\n%s", err, out)
		}
	}
}

func TestExampleTraefik(t *testing.T) {
	var doc struct {
		HTTP struct {
			Middlewares map[string]struct {
				ForwardAuth struct {
					Address             string   `yaml:"address"`
					TrustForwardHeader  bool     `yaml:"trustForwardHeader"`
					AuthResponseHeaders []string `yaml:"authResponseHeaders"`
				} `yaml:"forwardAuth"`
			} `yaml:"middlewares"`
			Routers map[string]struct {
				Middlewares []string `yaml:"middlewares"`
			} `yaml:"routers"`
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal([]byte(readExample(t, "traefik/dynamic.yml")), &doc); err != nil {
		t.Fatal(err)
	}
	fa := doc.HTTP.Middlewares["authd"].ForwardAuth
	if !strings.HasSuffix(fa.Address, "/forward-auth") || fa.TrustForwardHeader || !slices.Equal(fa.AuthResponseHeaders, identityHeaders) {
		t.Fatalf("traefik forwardAuth %+v", fa)
	}
	if !slices.Contains(doc.HTTP.Routers["app"].Middlewares, "authd") {
		t.Fatal("the router does not use the middleware")
	}
}

// TestExampleEnvoy reads envoy.yaml into Envoy's bootstrap message (every
// field and typed_config known to Envoy's API, nothing unknown) and runs
// the API's own validation rules on it and on each filter's config.
func TestExampleEnvoy(t *testing.T) {
	var doc any
	if err := yaml.Unmarshal([]byte(readExample(t, "envoy/envoy.yaml")), &doc); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(raw, &b); err != nil {
		t.Fatalf("envoy.yaml is not a valid Envoy bootstrap: %v", err)
	}
	if err := b.ValidateAll(); err != nil {
		t.Fatalf("envoy.yaml: %v", err)
	}
	variants := map[string]*extauthzv3.ExtAuthz{}
	for _, l := range b.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				var hcm hcmv3.HttpConnectionManager
				if err := f.GetTypedConfig().UnmarshalTo(&hcm); err != nil {
					t.Fatalf("%s: %v", l.GetName(), err)
				}
				if err := hcm.ValidateAll(); err != nil {
					t.Fatalf("%s: %v", l.GetName(), err)
				}
				for _, hf := range hcm.GetHttpFilters() {
					m, err := hf.GetTypedConfig().UnmarshalNew()
					if err != nil {
						t.Fatalf("%s %s: %v", l.GetName(), hf.GetName(), err)
					}
					if v, ok := m.(interface{ ValidateAll() error }); !ok || v.ValidateAll() != nil {
						t.Fatalf("%s %s: %v", l.GetName(), hf.GetName(), v.ValidateAll())
					}
					if ea, ok := m.(*extauthzv3.ExtAuthz); ok {
						variants[l.GetName()] = proto.Clone(ea).(*extauthzv3.ExtAuthz)
					}
				}
			}
		}
	}
	httpVariant, grpcVariant := variants["http_ext_authz"], variants["grpc_ext_authz"]
	if httpVariant == nil || grpcVariant == nil {
		t.Fatalf("want both ext_authz variants, have %v", variants)
	}
	hs := httpVariant.GetHttpService()
	if hs.GetPathPrefix() != "/forward-auth" {
		t.Errorf("HTTP ext_authz path_prefix %q, want /forward-auth", hs.GetPathPrefix())
	}
	if !matcherHas(httpVariant.GetAllowedHeaders().GetPatterns(), "api_key") {
		t.Error("HTTP ext_authz does not send the api_key header")
	}
	for _, h := range identityHeaders {
		if !matcherHas(hs.GetAuthorizationResponse().GetAllowedUpstreamHeaders().GetPatterns(), strings.ToLower(h)) {
			t.Errorf("HTTP ext_authz does not pass %s upstream", h)
		}
	}
	if grpcVariant.GetGrpcService().GetEnvoyGrpc().GetClusterName() != "authd_grpc" || grpcVariant.GetTransportApiVersion().String() != "V3" {
		t.Errorf("gRPC ext_authz %v", grpcVariant)
	}
}

func matcherHas(ps []*matcherv3.StringMatcher, s string) bool {
	for _, p := range ps {
		if p.GetExact() == s || (p.GetPrefix() != "" && strings.HasPrefix(s, p.GetPrefix())) {
			return true
		}
	}
	return false
}

// TestForwardAuthBehindCaddy runs Caddy with the example Caddyfile
// (deploy/examples/caddy/Caddyfile, its addresses pointed at authd and a
// local upstream that echoes what it receives). Skipped when caddy is not
// installed (.ci/run installs it: go install
// github.com/caddyserver/caddy/v2/cmd/caddy@v2.11.9).
func TestForwardAuthBehindCaddy(t *testing.T) {
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		t.Skip("caddy is not installed (go install github.com/caddyserver/caddy/v2/cmd/caddy@v2.11.9)")
	}
	cfg := testConfig(t)
	cfg.ForwardAuth.Rules = faRules
	cfg.ForwardAuth.URIHeader = "X-Forwarded-Uri" // what Caddy sends
	s := newTestServer(t, cfg)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := map[string]string{"path": r.URL.Path, "method": r.Method}
		for _, h := range identityHeaders {
			if v, ok := r.Header[h]; ok {
				m[h] = strings.Join(v, ",")
			}
		}
		_ = json.NewEncoder(w).Encode(m)
	}))
	t.Cleanup(upstream.Close)

	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	conf := readExample(t, "caddy/Caddyfile")
	for from, to := range map[string]string{
		"forward_auth 127.0.0.1:8080 {": "forward_auth " + strings.TrimPrefix(s.URL, "http://") + " {",
		"reverse_proxy 127.0.0.1:3000":  "reverse_proxy " + strings.TrimPrefix(upstream.URL, "http://"),
		"\n:8081 {":                     "\nhttp://" + addr + " {",
		"{\n\tservers {":                "{\n\tadmin off\n\tpersist_config off\n\tservers {",
	} {
		if strings.Count(conf, from) != 1 {
			t.Fatalf("deploy/examples/caddy/Caddyfile: %q appears %d times, want once", from, strings.Count(conf, from))
		}
		conf = strings.Replace(conf, from, to, 1)
	}
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddy, "run", "--adapter", "caddyfile", "--config", path)
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	startListening(t, cmd, addr, 15*time.Second, logs.String)

	do := func(method, path string, headers map[string]string) (int, map[string]string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+addr+path, nil)
		for k, v := range headers {
			req.Header[k] = []string{v} // as sent: api_key keeps its spelling
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]string
		if resp.StatusCode == 200 {
			if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, m, resp.Header
	}

	pk, sk := s.Boot.APIKeys["live"].Public, s.Boot.APIKeys["live"].Secret
	pkID := s.introspect(t, pk, "api_key")["key_id"].(string)
	// The api_key header reaches authd (expected_underscore_headers), and
	// a client cannot smuggle its own identity headers past Caddy.
	code, m, _ := do("GET", "/hello", map[string]string{"api_key": pk, "X-Authd-Subject": "evil", "X-Authd-Service-Owner": "true"})
	if code != 200 || m[forwardauth.HeaderSubject] != pkID || m[forwardauth.HeaderSubjectType] != "api_key" ||
		m[forwardauth.HeaderOrganisation] != s.Boot.Business.ID || m[forwardauth.HeaderServiceOwner] != "" || m["path"] != "/hello" {
		t.Fatalf("public key through caddy: %d %v\n%s", code, m, logs.String())
	}
	cc, err := s.clientCredentials("tokens:introspect").Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	code, m, _ = do("DELETE", "/x", map[string]string{"Authorization": "Bearer " + cc.AccessToken, "X-Authd-Organisation": "evil"})
	if code != 200 || m[forwardauth.HeaderSubjectType] != "client" || m[forwardauth.HeaderOrganisation] != "" || m["method"] != "DELETE" {
		t.Fatalf("client token through caddy: %d %v", code, m)
	}
	user := akAdmin(t, s, "live")
	if code, m, _ := do("POST", "/admin/users", map[string]string{"Authorization": "Bearer " + user}); code != 200 || m[forwardauth.HeaderSubject] != s.Boot.Admin.ID {
		t.Fatalf("user on a user-only path through caddy: %d %v", code, m)
	}
	if code, _, h := do("GET", "/hello", nil); code != 401 || !strings.Contains(h.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("no credentials through caddy: %d %v", code, h)
	}
	// The rules see the URI Caddy sends (X-Forwarded-Uri), not a client's.
	for _, path := range []string{"/admin/users", "/public/../admin/users", "/%61dmin/users"} {
		if code, _, _ := do("GET", path, map[string]string{"api_key": sk, "X-Forwarded-Uri": "/hello"}); code != 403 {
			t.Fatalf("key on %s through caddy: %d", path, code)
		}
	}
	if code, _, _ := do("GET", "/contacts/1", map[string]string{"api_key": pk}); code != 403 {
		t.Fatalf("public key on /contacts through caddy: %d", code)
	}
}

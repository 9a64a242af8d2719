package app_test

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/cache/rediscache/redistest"
	"github.com/authd/authd/internal/config"
)

// Fault tests: two authd replicas on one PostgreSQL schema and a
// redis-server of the test's own, which the tests stop, pause (SIGSTOP) and
// restart. They need AUTHD_TEST_POSTGRES_DSN and redis-server (CI has
// both); the PostgreSQL outage test also stops the real cluster and runs
// only with AUTHD_TEST_FAULTS_PG=1 (.ci/run runs it on its own).

// revocationBound is how late a replica may learn of a revocation whose
// pub/sub message was lost: revocation.poll_interval (500ms by default)
// plus a read of the log.
const revocationBound = time.Second

type faultEnv struct {
	redis *redistest.Server
	base  *config.Config
	a, b  *testServer
}

func newFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	pg := os.Getenv("AUTHD_TEST_POSTGRES_DSN")
	if pg == "" {
		t.Skip("fault tests need AUTHD_TEST_POSTGRES_DSN (two replicas on one database)")
	}
	srv := redistest.Start(t)
	base := lenient(testConfig(t))
	base.Database.DSN = akPostgresSchema(t, pg)
	base.Redis.URL = srv.URL()
	base.Redis.KeyPrefix = "authd-fault:"
	e := &faultEnv{redis: srv, base: base}
	e.a = akReplica(t, base, true)
	e.b = e.replica(t)
	return e
}

// replica starts another authd on the same database and Redis.
func (e *faultEnv) replica(t *testing.T) *testServer {
	t.Helper()
	s := akReplica(t, e.base, false)
	s.Boot = e.a.Boot
	return s
}

// forwardAuth answers /forward-auth's status for headers on s, and how
// long it took.
func forwardAuth(t *testing.T, s *testServer, headers map[string]string) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	r := akDo(t, s, "GET", "/forward-auth", headers, nil)
	return r.Status, time.Since(start)
}

// signInTokens signs the bootstrap admin in on s: access and refresh token.
func signInTokens(t *testing.T, s *testServer) (string, string) {
	t.Helper()
	m := s.signIn(t, s.Boot.Admin.Email, s.Boot.Admin.Password)
	return m["access_token"].(string), m["refresh_token"].(string)
}

// revokeAt revokes tok at /oauth2/revoke on s as the back-office client.
func revokeAt(t *testing.T, s *testServer, tok string) {
	t.Helper()
	resp, m := s.postForm(t, "/oauth2/revoke", url.Values{"token": {tok}, "client_id": {s.Boot.Clients.Backoffice.ClientID}}, "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke on %s: %d %v", s.URL, resp.StatusCode, m)
	}
}

// refusedWithin waits until every replica refuses headers at
// /forward-auth (401), failing after bound.
func refusedWithin(t *testing.T, bound time.Duration, what string, headers map[string]string, replicas ...*testServer) {
	t.Helper()
	start := time.Now()
	for _, s := range replicas {
		for {
			code, _ := forwardAuth(t, s, headers)
			if code == http.StatusUnauthorized {
				break
			}
			if time.Since(start) > bound {
				t.Fatalf("%s: replica %s still answers %d after %v", what, s.URL, code, time.Since(start))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Logf("%s: refused everywhere after %v", what, time.Since(start))
}

// TestFaultRevocationSurvivesRedisRestart: tokens revoked (by jti, and by
// ending their refresh family) before Redis restarts empty stay revoked on
// both replicas, and on a replica started after the restart.
func TestFaultRevocationSurvivesRedisRestart(t *testing.T) {
	e := newFaultEnv(t)
	byJTI, _ := signInTokens(t, e.a)
	byFamily, refresh := signInTokens(t, e.a)
	kept, _ := signInTokens(t, e.a)
	revokeAt(t, e.a, byJTI)
	revokeAt(t, e.b, refresh) // on the other replica
	refusedWithin(t, revocationBound, "revoked before the restart", akBearer(byJTI), e.a, e.b)
	refusedWithin(t, revocationBound, "family ended before the restart", akBearer(byFamily), e.a, e.b)

	e.redis.Restart() // no persistence: every key and subscription is gone
	c := e.replica(t)
	for _, s := range []*testServer{e.a, e.b, c} {
		for _, tok := range []string{byJTI, byFamily} {
			if code, _ := forwardAuth(t, s, akBearer(tok)); code != http.StatusUnauthorized {
				t.Errorf("after the Redis restart, %s accepts a revoked token: %d", s.URL, code)
			}
		}
		if code, _ := forwardAuth(t, s, akBearer(kept)); code != http.StatusOK {
			t.Errorf("after the Redis restart, %s refuses a valid token: %d", s.URL, code)
		}
	}
}

// TestFaultLostMessage: a replica whose pub/sub message never reaches the
// others (it cannot reach Redis at all) revokes; the others refuse within
// the bound from the log. And after Redis lost all its data (a restart
// with no persistence, the old "epoch reset"), a new revocation still
// reaches everyone within the bound.
func TestFaultLostMessage(t *testing.T) {
	e := newFaultEnv(t)
	tok := akAdmin(t, e.a, "live")
	key := akCreate(t, e.a, tok, map[string]any{"type": "secret", "name": "lost message", "scopes": []string{"*"}})
	for _, s := range []*testServer{e.a, e.b} {
		if code, _ := forwardAuth(t, s, akKey(key["key"].(string))); code != 200 {
			t.Fatalf("new key on %s: %d", s.URL, code)
		}
	}
	// A replica cut off from Redis: nothing it publishes arrives.
	cut := *e.base
	cut.Redis.URL = "redis://127.0.0.1:1/0"
	c := akReplica(t, &cut, false)
	c.Boot = e.a.Boot
	if r := akDo(t, c, "DELETE", "/backoffice/v1/api-keys/"+key["id"].(string), akBearer(tok), nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke on the cut-off replica: %d %s", r.Status, r.Raw)
	}
	refusedWithin(t, revocationBound, "key revoked by a replica without Redis", akKey(key["key"].(string)), c, e.a, e.b)

	e.redis.Restart()
	access, refresh := signInTokens(t, e.a)
	for _, s := range []*testServer{e.a, e.b} {
		if code, _ := forwardAuth(t, s, akBearer(access)); code != 200 {
			t.Fatalf("fresh token on %s: %d", s.URL, code)
		}
	}
	revokeAt(t, e.a, refresh)
	refusedWithin(t, revocationBound, "family ended after Redis lost its data", akBearer(access), e.a, e.b)
}

// TestFaultRevokeWhileRedisDown: with Redis stopped, revocation answers
// success (the log is in the database) and every replica refuses at once
// or within the bound, and still after Redis returns.
func TestFaultRevokeWhileRedisDown(t *testing.T) {
	e := newFaultEnv(t)
	access, refresh := signInTokens(t, e.a)
	single, _ := signInTokens(t, e.a)
	adm := akAdmin(t, e.a, "live")
	key := akCreate(t, e.a, adm, map[string]any{"type": "secret", "name": "down", "scopes": []string{"*"}})
	for _, s := range []*testServer{e.a, e.b} {
		for _, h := range []map[string]string{akBearer(access), akBearer(single), akKey(key["key"].(string))} {
			if code, _ := forwardAuth(t, s, h); code != 200 {
				t.Fatalf("before the outage on %s: %d", s.URL, code)
			}
		}
	}
	e.redis.Stop()
	revokeAt(t, e.b, refresh)
	revokeAt(t, e.a, single)
	if r := akDo(t, e.a, "DELETE", "/backoffice/v1/api-keys/"+key["id"].(string), akBearer(adm), nil); r.Status != http.StatusNoContent {
		t.Fatalf("key revoke with Redis down: %d %s", r.Status, r.Raw)
	}
	for _, h := range []map[string]string{akBearer(access), akBearer(single), akKey(key["key"].(string))} {
		refusedWithin(t, revocationBound, "revoked while Redis is down", h, e.a, e.b)
	}
	e.redis.Restart()
	time.Sleep(2 * time.Second) // let clients reconnect and the breakers close: nothing may come back
	for _, s := range []*testServer{e.a, e.b} {
		for _, h := range []map[string]string{akBearer(access), akBearer(single), akKey(key["key"].(string))} {
			if code, _ := forwardAuth(t, s, h); code != http.StatusUnauthorized {
				t.Errorf("after Redis returned, %s accepts a revoked credential: %d", s.URL, code)
			}
		}
	}
}

// TestFaultRedisDownAndHung: with Redis stopped, then frozen (SIGSTOP),
// forward-auth answers a valid JWT and a valid API key with 200 and a
// revoked one with 401, each within 300ms, and introspection answers them
// too; sign-in, whose rate limits need Redis, answers 503 with
// Retry-After.
func TestFaultRedisDownAndHung(t *testing.T) {
	e := newFaultEnv(t)
	valid, _ := signInTokens(t, e.a)
	revoked, _ := signInTokens(t, e.a)
	adm := akAdmin(t, e.a, "live")
	key := akCreate(t, e.a, adm, map[string]any{"type": "secret", "name": "hung", "scopes": []string{"*"}})["key"].(string)
	revokeAt(t, e.a, revoked)
	for _, s := range []*testServer{e.a, e.b} {
		if code, _ := forwardAuth(t, s, akKey(key)); code != 200 {
			t.Fatalf("key before the outage on %s: %d", s.URL, code)
		}
	}
	check := func(state string) {
		t.Helper()
		for _, s := range []*testServer{e.a, e.b} {
			for _, c := range []struct {
				h    map[string]string
				want int
			}{{akBearer(valid), 200}, {akKey(key), 200}, {akBearer(revoked), 401}, {akBearer("not.a.token"), 401}} {
				for range 5 {
					code, took := forwardAuth(t, s, c.h)
					if code != c.want {
						t.Fatalf("Redis %s: forward-auth on %s answered %d, want %d", state, s.URL, code, c.want)
					}
					if took > 300*time.Millisecond {
						t.Errorf("Redis %s: forward-auth on %s took %v", state, s.URL, took)
					}
				}
			}
		}
		for _, s := range []*testServer{e.a, e.b} {
			start := time.Now()
			if !akActive(t, s, valid, "") || akActive(t, s, revoked, "") || !akActive(t, s, key, "api_key") {
				t.Fatalf("Redis %s: introspection on %s answered wrongly", state, s.URL)
			}
			if took := time.Since(start); took > 900*time.Millisecond {
				t.Errorf("Redis %s: three introspections on %s took %v", state, s.URL, took)
			}
		}
		start := time.Now()
		code, m, h := e.a.call(t, "POST", "/backoffice/v1/users/authenticate", "", map[string]string{"username": e.a.Boot.Admin.Email, "password": e.a.Boot.Admin.Password})
		if code != http.StatusServiceUnavailable || m["code"] != "SERVICE_UNAVAILABLE" || h.Get("Retry-After") == "" {
			t.Errorf("Redis %s: sign-in answered %d %v (Retry-After %q), want 503", state, code, m, h.Get("Retry-After"))
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("Redis %s: sign-in took %v to fail", state, took)
		}
	}
	e.redis.Stop()
	check("stopped")
	e.redis.Restart()
	e.redis.Pause()
	check("hung")
	e.redis.Resume()
}

// TestFaultPostgresDown stops the real PostgreSQL cluster: verification
// (forward-auth with a JWT and an API key, introspection) keeps working
// from memory and last-good caches, sign-in answers 503, readiness stays,
// and everything recovers when the database returns, without a restart.
func TestFaultPostgresDown(t *testing.T) {
	if os.Getenv("AUTHD_TEST_FAULTS_PG") != "1" {
		t.Skip("stops the PostgreSQL cluster: set AUTHD_TEST_FAULTS_PG=1 (run alone, as root)")
	}
	cluster := os.Getenv("AUTHD_TEST_PG_CLUSTER") // e.g. "15 main"
	if cluster == "" {
		cluster = "15 main"
	}
	pgctl := func(action string) {
		t.Helper()
		args := append(strings.Fields(cluster), action)
		if out, err := exec.Command("pg_ctlcluster", args...).CombinedOutput(); err != nil {
			t.Fatalf("pg_ctlcluster %v: %v %s", args, err, out)
		}
	}
	e := newFaultEnv(t)
	access, _ := signInTokens(t, e.a)
	adm := akAdmin(t, e.a, "live")
	key := akCreate(t, e.a, adm, map[string]any{"type": "secret", "name": "pg down", "scopes": []string{"*"}})["key"].(string)
	for _, s := range []*testServer{e.a, e.b} {
		for _, h := range []map[string]string{akBearer(access), akKey(key)} {
			if code, _ := forwardAuth(t, s, h); code != 200 {
				t.Fatalf("before the outage on %s: %d", s.URL, code)
			}
		}
		if !akActive(t, s, access, "") {
			t.Fatal("introspection before the outage")
		}
	}
	pgctl("stop")
	t.Cleanup(func() { _ = exec.Command("pg_ctlcluster", append(strings.Fields(cluster), "start")...).Run() })
	deadline := time.Now().Add(40 * time.Second) // past every fresh TTL (client 10s, rights 30s, keys 30s)
	for time.Now().Before(deadline) {
		for _, s := range []*testServer{e.a, e.b} {
			for _, h := range []map[string]string{akBearer(access), akKey(key)} {
				if code, _ := forwardAuth(t, s, h); code != 200 {
					t.Fatalf("PostgreSQL down: forward-auth on %s answered %d", s.URL, code)
				}
			}
			if !akActive(t, s, access, "") {
				t.Fatalf("PostgreSQL down: introspection on %s says inactive", s.URL)
			}
			if r, body := get(t, s.Admin+"/readyz", nil); r.StatusCode != 200 {
				t.Fatalf("PostgreSQL down: readyz %d %s", r.StatusCode, body)
			}
		}
		time.Sleep(2 * time.Second)
	}
	// Sign-in needs the database (the user, a new refresh family): 503.
	// (client_credentials writes nothing and keeps working from the last
	// good client record.)
	code, m, h := e.a.call(t, "POST", "/backoffice/v1/users/authenticate", "", map[string]string{"username": e.a.Boot.Admin.Email, "password": e.a.Boot.Admin.Password})
	if code != http.StatusServiceUnavailable || m["code"] != "SERVICE_UNAVAILABLE" || h.Get("Retry-After") == "" {
		t.Errorf("sign-in with PostgreSQL down: %d %v", code, m)
	}
	resp, om := e.a.postForm(t, "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {e.a.Boot.Admin.Email},
		"password": {e.a.Boot.Admin.Password}, "client_id": {e.a.Boot.Clients.Backoffice.ClientID}}, "", "")
	if resp.StatusCode != http.StatusServiceUnavailable || om["error"] != "temporarily_unavailable" {
		t.Errorf("password grant with PostgreSQL down: %d %v", resp.StatusCode, om)
	}
	pgctl("start")
	recovered := time.Now().Add(30 * time.Second)
	for {
		code, _, _ := e.a.call(t, "POST", "/backoffice/v1/users/authenticate", "", map[string]string{"username": e.a.Boot.Admin.Email, "password": e.a.Boot.Admin.Password})
		if code == 200 {
			break
		}
		if time.Now().After(recovered) {
			t.Fatalf("sign-in did not recover after PostgreSQL returned: %d", code)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Revocation works again, on both replicas.
	_, refresh := signInTokens(t, e.b)
	revokeAt(t, e.b, refresh)
	revokeAt(t, e.a, access)
	refusedWithin(t, revocationBound, "revoked after recovery", akBearer(access), e.a, e.b)
}

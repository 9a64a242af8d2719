package app_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" database/sql driver, to create the two-replica schema

	"github.com/authd/authd/internal/app"
	"github.com/authd/authd/internal/bootstrap"
	"github.com/authd/authd/internal/config"
)

// TestAPIKeyRevocationAcrossReplicas: two authd servers on one PostgreSQL
// schema and one Redis; a key revoked (or rolled with expires_at now) on
// one is refused by the other within a second.
func TestAPIKeyRevocationAcrossReplicas(t *testing.T) {
	pg, redisURL := os.Getenv("AUTHD_TEST_POSTGRES_DSN"), os.Getenv("AUTHD_TEST_REDIS_URL")
	if pg == "" || redisURL == "" {
		t.Skip("two-replica revocation needs AUTHD_TEST_POSTGRES_DSN and AUTHD_TEST_REDIS_URL")
	}
	dsn := akPostgresSchema(t, pg)
	base := testConfig(t)
	base.Database.DSN = dsn
	base.Redis.URL = redisURL
	base.Redis.KeyPrefix = "authd-2r-" + time.Now().Format("150405.000000") + ":"
	a := akReplica(t, base, true)
	b := akReplica(t, base, false)
	b.Boot = a.Boot
	tok := akAdmin(t, a, "live")

	for _, how := range []string{"revoke", "roll now"} {
		t.Run(how, func(t *testing.T) {
			k := akCreate(t, a, tok, map[string]any{"type": "secret", "name": how, "scopes": []string{"*"}})
			key, id := k["key"].(string), k["id"].(string)
			// Both replicas have the key in their caches.
			for range 3 {
				if !akActive(t, a, key, "api_key") || !akActive(t, b, key, "api_key") {
					t.Fatal("new key inactive on a replica")
				}
			}
			if b.App.KeyVerifier.Stats().Entries == 0 {
				t.Fatal("replica B did not cache the key: the test proves nothing")
			}
			start := time.Now()
			var r akResp
			if how == "revoke" {
				r = akDo(t, a, "DELETE", "/backoffice/v1/api-keys/"+id, akBearer(tok), nil)
			} else {
				r = akDo(t, a, "POST", "/backoffice/v1/api-keys/"+id+"/roll", akBearer(tok), map[string]any{"expires_at": "now"})
			}
			if r.Status/100 != 2 {
				t.Fatalf("%s on A: %d %s", how, r.Status, r.Raw)
			}
			for akActive(t, b, key, "api_key") {
				if time.Since(start) > time.Second {
					t.Fatalf("replica B still accepts the key %v after the %s on A", time.Since(start), how)
				}
				time.Sleep(5 * time.Millisecond)
			}
			t.Logf("replica B refused the key %v after the %s on A", time.Since(start), how)
			if fa := akDo(t, b, "GET", "/forward-auth", akKey(key), nil); fa.Status != 401 {
				t.Fatalf("forward-auth on B: %d", fa.Status)
			}
		})
	}
}

// akReplica starts one authd on cfg (a copy); bootstrap only on the first.
func akReplica(t *testing.T, base *config.Config, boot bool) *testServer {
	t.Helper()
	cfg := *base
	pub := httptest.NewUnstartedServer(nil)
	cfg.Issuer = "http://shared-issuer.test" // both replicas sign and verify as one issuer
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := app.New(ctx, &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{App: a}
	if boot {
		if s.Boot, err = bootstrap.Run(ctx, a.Store, a.Hasher, a.KeyBox, bootstrap.Options{Issuer: cfg.Issuer}); err != nil {
			t.Fatal(err)
		}
	}
	pub.Config.Handler = oasCheck(t, a.Public, false)
	pub.Start()
	adm := httptest.NewServer(oasCheck(t, a.Admin, true))
	stop := func() { a.OAuth.CloseStreams(); pub.Close() }
	s.URL, s.Admin, s.close = pub.URL, adm.URL, stop
	a.Start(ctx)
	t.Cleanup(func() { stop(); adm.Close(); a.Close() })
	return s
}

// akPostgresSchema creates an empty schema, dropped at the end, and
// returns a DSN selecting it.
func akPostgresSchema(t testing.TB, base string) string {
	t.Helper()
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	schema := "t_e2e_" + strings.ToLower(rand.Text()[:16]) // tests run in parallel
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() { _, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

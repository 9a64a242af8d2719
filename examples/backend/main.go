// Command backend is a tiny HTTP service protected by authd's access
// tokens, verified in process with package verify: a model for services
// that sit beside authd.
//
//	go run ./examples/backend -issuer http://127.0.0.1:8080 \
//	    -feed-client-id <introspection client_id>   # secret in AUTHD_FEED_CLIENT_SECRET
//	curl -H "Authorization: Bearer $ACCESS_TOKEN" localhost:8081/me
//
// Routes: GET /healthz (no token: the verifier's status), GET /me (any valid token: its claims), GET /contact/profile
// (contacts only), GET /backoffice/report (users in live mode only).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/authd/authd/pkg/verify"
)

func main() {
	issuer := flag.String("issuer", "http://localhost:8080", "authd's issuer URL")
	audience := flag.String("audience", "", "this service's audience (default: the issuer, the audience authd puts in tokens by default)")
	addr := flag.String("addr", ":8081", "listen address")
	feedClient := flag.String("feed-client-id", "", "confidential client that follows the revocation feed (needs revocations:read; its secret in AUTHD_FEED_CLIENT_SECRET); empty: revoked tokens stay valid until they expire")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(*issuer, *audience, *addr, *feedClient, os.Getenv("AUTHD_FEED_CLIENT_SECRET"), log); err != nil {
		log.Error("backend", "err", err)
		os.Exit(1)
	}
}

func run(issuer, audience, addr, feedClient, feedSecret string, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if audience == "" {
		audience = issuer
	}
	opts := []verify.Option{verify.WithAudience(audience), verify.WithLogger(log)}
	if feedClient != "" {
		opts = append(opts, verify.WithRevocationFeed(feedClient, feedSecret))
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	v, err := verify.New(startCtx, issuer, opts...)
	cancel()
	if err != nil {
		return err
	}
	defer v.Close()

	srv := &http.Server{Addr: addr, Handler: handler(v), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("backend listening", "addr", addr, "issuer", issuer, "audience", audience, "revocation_feed", feedClient != "")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// handler serves the routes: /healthz without a token, the others behind
// verify.Middleware.
func handler(v *verify.Verifier) http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, verify.FromContext(r.Context()))
	})
	api.Handle("GET /contact/profile", verify.RequireKind(verify.KindContact)(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			c := verify.FromContext(r.Context())
			writeJSON(w, map[string]string{"contact": c.Subject, "business": c.Org, "mode": c.Mode})
		})))
	report := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := verify.FromContext(r.Context())
		writeJSON(w, map[string]any{"organisation": c.Org, "service_owner": c.ServiceOwner, "masquerading_from": c.HomeOrg})
	})
	api.Handle("GET /backoffice/report", verify.RequireKind(verify.KindUser)(verify.RequireMode(verify.ModeLive)(report)))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		// Always 200: New returned, so the keys (and, with the feed,
		// the revocations in force) are loaded; a feed reconnecting or
		// authd down does not stop verification.
		writeJSON(w, v.Status())
	})
	mux.Handle("/", verify.Middleware(v, verify.Realm("backend"))(api))

	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

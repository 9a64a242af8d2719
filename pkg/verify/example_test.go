package verify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/authd/authd/pkg/verify"
	"github.com/authd/authd/pkg/verify/verifytest"
)

// A service checks the access tokens it receives. Here a fake authd
// (verifytest) stands in for the real one.
func Example() {
	authd := verifytest.NewIssuer()
	defer authd.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := verify.New(ctx, authd.URL(),
		verify.WithAudience(authd.URL()), // authd's default audience: the issuer
		verify.WithHTTPClient(authd.Client()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	claims, err := v.Verify(ctx, authd.Token(authd.Claims()))
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println(claims.Kind, claims.Subject, claims.Org, claims.Mode, claims.Scopes)
	// Output: user user-1 org-1 live [profile]
}

// Refusals are told apart with errors.Is: an expired token means the
// client should use its refresh token.
func ExampleVerifier_Verify() {
	authd := verifytest.NewIssuer()
	defer authd.Close()
	ctx := context.Background()
	v, err := verify.New(ctx, authd.URL(), verify.WithAudience(authd.URL()), verify.WithHTTPClient(authd.Client()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	old := authd.Claims()
	old["exp"] = time.Now().Add(-time.Hour).Unix()
	foreign := authd.Claims()
	foreign["aud"] = "https://another-service.example"

	for _, tok := range []string{authd.Token(old), authd.Token(foreign), "garbage"} {
		_, err := v.Verify(ctx, tok)
		switch {
		case errors.Is(err, verify.ErrExpired):
			fmt.Println("expired: refresh and retry")
		case errors.Is(err, verify.ErrAudience):
			fmt.Println("meant for another service")
		case errors.Is(err, verify.ErrRevoked):
			fmt.Println("revoked: sign in again")
		case err != nil:
			fmt.Println("not a valid token")
		}
	}
	// Output:
	// expired: refresh and retry
	// meant for another service
	// not a valid token
}

// WithRevocationFeed makes New wait until it knows every revocation in
// force: a token revoked before the service started is refused from the
// first request.
func ExampleWithRevocationFeed() {
	authd := verifytest.NewIssuer()
	defer authd.Close()
	now := time.Now()
	authd.Revoke("user", "user-1", now, now.Add(time.Hour)) // e.g. the user changed their password
	tok := authd.Token(authd.Claims())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := verify.New(ctx, authd.URL(),
		verify.WithAudience(authd.URL()),
		verify.WithHTTPClient(authd.Client()),
		verify.WithRevocationFeed(verifytest.FeedClientID, verifytest.FeedClientSecret))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	_, err = v.Verify(ctx, tok)
	fmt.Println(errors.Is(err, verify.ErrRevoked), v.Status().FeedCurrent)
	// Output: true true
}

// Middleware protects a handler; RequireScopes narrows one route.
func ExampleMiddleware() {
	authd := verifytest.NewIssuer()
	defer authd.Close()
	v, err := verify.New(context.Background(), authd.URL(), verify.WithAudience(authd.URL()), verify.WithHTTPClient(authd.Client()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /orders", verify.RequireScopes("orders:read")(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			claims := verify.FromContext(r.Context())
			fmt.Fprintf(w, "orders of %s in %s mode", claims.Org, claims.Mode)
		})))
	handler := verify.Middleware(v, verify.Realm("orders"))(mux)

	get := func(token string) {
		r := httptest.NewRequest(http.MethodGet, "/orders", nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			fmt.Println(w.Code, w.Body)
			return
		}
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	}
	get("")
	get(authd.Token(authd.Claims())) // scope "profile" only
	c := authd.Claims()
	c["scope"] = "profile orders:read"
	get(authd.Token(c))
	// Output:
	// 401 Bearer realm="orders"
	// 403 Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a scope this request needs", scope="orders:read"
	// 200 orders of org-1 in live mode
}

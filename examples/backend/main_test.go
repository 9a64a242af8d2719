package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/pkg/verify"
	"github.com/authd/authd/pkg/verify/verifytest"
)

func TestRoutes(t *testing.T) {
	authd := verifytest.NewIssuer()
	defer authd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := verify.New(ctx, authd.URL(), verify.WithAudience(authd.URL()), verify.WithHTTPClient(authd.Client()),
		verify.WithRevocationFeed(verifytest.FeedClientID, verifytest.FeedClientSecret))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	srv := httptest.NewServer(handler(v))
	defer srv.Close()

	user := authd.Token(authd.Claims())
	c := authd.Claims()
	c["kind"], c["sub"], c["org"] = "contact", "contact-1", "biz-1"
	contact := authd.Token(c)
	for _, tc := range []struct {
		path, token string
		status      int
		body        string
	}{
		{"/healthz", "", 200, `"FeedCurrent":true`},
		{"/me", "", 401, ""},
		{"/me", user, 200, `"Subject":"user-1"`},
		{"/contact/profile", user, 403, "insufficient_scope"},
		{"/contact/profile", contact, 200, `"contact":"contact-1"`},
		{"/backoffice/report", user, 200, `"organisation":"org-1"`},
		{"/backoffice/report", contact, 403, "insufficient_scope"},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(b.String(), tc.body) {
			t.Errorf("GET %s: %d %s; want %d with %s", tc.path, resp.StatusCode, b.String(), tc.status, tc.body)
		}
	}
}

package ginverify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/pkg/verify"
	"github.com/authd/authd/pkg/verify/ginverify"
	"github.com/authd/authd/pkg/verify/verifytest"
)

func TestGin(t *testing.T) {
	gin.SetMode(gin.TestMode)
	authd := verifytest.NewIssuer()
	defer authd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := verify.New(ctx, authd.URL(), verify.WithAudience(authd.URL()), verify.WithHTTPClient(authd.Client()))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()

	r := gin.New()
	r.Use(ginverify.Middleware(v, verify.Realm("orders")))
	reached := 0
	handler := func(c *gin.Context) {
		reached++
		cl := ginverify.Claims(c)
		c.String(http.StatusOK, cl.Subject+" "+cl.Kind)
	}
	r.GET("/me", handler)
	r.GET("/orders", ginverify.RequireScopes("orders:read"), handler)
	r.GET("/contacts", ginverify.RequireKind(verify.KindContact), handler)
	r.GET("/test", ginverify.RequireMode(verify.ModeTest), handler)

	claims := authd.Claims()
	claims["scope"] = "orders:read"
	withScope := authd.Token(claims)
	plain := authd.Token(authd.Claims())

	tests := []struct {
		path, token string
		status      int
		challenge   string
	}{
		{"/me", plain, 200, ""},
		{"/me", "", 401, `Bearer realm="orders"`},
		{"/me", "nope", 401, `Bearer realm="orders", error="invalid_token", error_description="The access token is not valid"`},
		{"/orders", withScope, 200, ""},
		{"/orders", plain, 403, `Bearer realm="orders", error="insufficient_scope", error_description="The access token lacks a scope this request needs", scope="orders:read"`},
		{"/contacts", plain, 403, `Bearer realm="orders", error="insufficient_scope", error_description="This request needs a token for a contact"`},
		{"/test", plain, 403, `Bearer realm="orders", error="insufficient_scope", error_description="This request needs a token in test mode"`},
	}
	for _, tc := range tests {
		before := reached
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != tc.status || w.Header().Get("WWW-Authenticate") != tc.challenge {
			t.Errorf("%s %q: %d %q; want %d %q", tc.path, tc.token, w.Code, w.Header().Get("WWW-Authenticate"), tc.status, tc.challenge)
		}
		if passed := reached > before; passed != (tc.status == 200) {
			t.Errorf("%s: handler reached %v", tc.path, passed)
		}
		if tc.status == 200 && w.Body.String() != "user-1 user" {
			t.Errorf("%s: body %q", tc.path, w.Body)
		}
	}
}

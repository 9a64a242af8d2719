package ginverify_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/pkg/verify"
	"github.com/authd/authd/pkg/verify/ginverify"
	"github.com/authd/authd/pkg/verify/verifytest"
)

func Example() {
	gin.SetMode(gin.ReleaseMode)
	authd := verifytest.NewIssuer()
	defer authd.Close()
	v, err := verify.New(context.Background(), authd.URL(), verify.WithAudience(authd.URL()), verify.WithHTTPClient(authd.Client()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	r := gin.New()
	r.Use(ginverify.Middleware(v))
	r.GET("/me", ginverify.RequireKind(verify.KindUser), func(c *gin.Context) {
		c.String(http.StatusOK, "hello %s", ginverify.Claims(c).Subject)
	})

	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header.Set("Authorization", "Bearer "+authd.Token(authd.Claims()))
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body)
	// Output: 200 hello user-1
}

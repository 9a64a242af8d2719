// Package ginverify adapts package verify's net/http middlewares to gin,
// so the core package carries no gin dependency. The answers are the
// same: 401 with an RFC 6750 WWW-Authenticate challenge for a missing or
// refused token, 403 insufficient_scope from the Require helpers.
//
//	r := gin.New()
//	r.Use(ginverify.Middleware(v))
//	r.GET("/orders", ginverify.RequireScopes("orders:read"), func(c *gin.Context) {
//		claims := ginverify.Claims(c)
//		c.JSON(http.StatusOK, gin.H{"org": claims.Org})
//	})
package ginverify

package httpapi

import "github.com/gin-gonic/gin"

// APIKeyDeps are the services of the back-office API-key endpoints.
// (Owned by the API-key work: filled in there.)
type APIKeyDeps struct{}

func (a *api) mountAPIKeys(*gin.RouterGroup) {}

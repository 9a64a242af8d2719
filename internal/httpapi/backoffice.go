package httpapi

import "github.com/gin-gonic/gin"

// BackofficeDeps are the services of the back-office user endpoints.
type BackofficeDeps struct{}

func (a *api) mountBackoffice(*gin.RouterGroup) {}

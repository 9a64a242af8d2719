package httpapi

import "github.com/gin-gonic/gin"

// ForwardAuthDecider decides forward-auth requests.
// (Owned by the API-key work: filled in there.)
type ForwardAuthDecider interface{}

func (a *api) mountForwardAuth(*gin.Engine) {}

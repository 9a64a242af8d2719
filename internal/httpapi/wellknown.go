package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/oauth"
)

type wellKnown struct {
	oauth  *oauth.Provider
	keys   KeySet
	maxAge time.Duration

	mu      sync.Mutex
	docAlg  string
	docBody []byte

	// The JWKS answer's header values, made once (max-age is fixed) or
	// once per key set (ETag): a request allocates none.
	cacheControl atomic.Pointer[[]string]
	etag         atomic.Pointer[[]string]
}

var valueJSON = []string{"application/json"}

// discovery serves RFC 8414 / OIDC discovery, encoded once per signing
// algorithm.
func (w *wellKnown) discovery(c *gin.Context) {
	alg := w.keys.Algorithm()
	w.mu.Lock()
	if w.docBody == nil || w.docAlg != alg {
		body, err := json.Marshal(w.oauth.Metadata([]string{alg}))
		if err != nil {
			w.mu.Unlock()
			renderError(c, err)
			return
		}
		w.docBody, w.docAlg = body, alg
	}
	body := w.docBody
	w.mu.Unlock()
	c.Header("Cache-Control", fmt.Sprintf("public, max-age=%d", int(w.maxAge.Seconds())))
	c.Data(http.StatusOK, "application/json", body)
}

// jwks serves the pre-encoded key set with a strong ETag; a matching
// If-None-Match gets 304.
func (w *wellKnown) jwks(c *gin.Context) {
	body, etag := w.keys.JWKS()
	cc := w.cacheControl.Load()
	if cc == nil {
		cc = &[]string{fmt.Sprintf("public, max-age=%d", int(w.maxAge.Seconds()))}
		w.cacheControl.Store(cc)
	}
	et := w.etag.Load()
	if et == nil || (*et)[0] != etag {
		et = &[]string{etag}
		w.etag.Store(et)
	}
	h := c.Writer.Header()
	h["Cache-Control"] = *cc
	h["Etag"] = *et // canonical spelling of ETag
	if inm := c.GetHeader("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		c.Status(http.StatusNotModified)
		return
	}
	h["Content-Type"] = valueJSON
	c.Data(http.StatusOK, "application/json", body)
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == etag || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

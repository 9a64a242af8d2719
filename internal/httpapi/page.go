package httpapi

import (
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/apierror"
	"github.com/authd/authd/internal/identity"
)

// Page sizes of every list.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// page is the one parser of every list's paging: ?page= (1-based, given
// at most once) and ?size= (default 20, 1 to 100, at most once).
func page(c *gin.Context) (identity.Page, int, int, error) {
	pg, size := 1, defaultPageSize
	for _, k := range []string{"page", "size"} {
		if len(c.QueryArray(k)) > 1 {
			return identity.Page{}, 0, 0, apierror.Invalid(k, k+" must be given once.")
		}
	}
	if v := c.Query("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			return identity.Page{}, 0, 0, apierror.Invalid("page", "page must be a positive integer.")
		}
		pg = n
	}
	if v := c.Query("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return identity.Page{}, 0, 0, apierror.Invalid("size", "size must be between 1 and 100.")
		}
		size = n
	}
	return identity.Page{Offset: (pg - 1) * size, Size: size}, pg, size, nil
}

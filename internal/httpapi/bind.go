package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/apierror"
)

// bindOptionalJSON is bindJSON for a body that may be left out: without
// one, dst keeps its zero value.
func bindOptionalJSON(c *gin.Context, dst any) error {
	if c.Request.ContentLength == 0 {
		return nil
	}
	return bindJSON(c, dst)
}

// parseExpiresAt reads an expires_at field: "now" (or absent) is nil, the
// services' "at once"; otherwise an RFC 3339 time.
func parseExpiresAt(s string) (*time.Time, error) {
	if s == "" || s == "now" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, apierror.Invalid("expires_at", `The expires_at field must be "now" or an RFC 3339 time.`)
	}
	return &t, nil
}

// bindJSON decodes the request body into dst: JSON only, one value,
// unknown fields refused. Errors name the offending field.
func bindJSON(c *gin.Context, dst any) error {
	ct, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || (ct != "application/json" && !strings.HasSuffix(ct, "+json")) {
		return apierror.New(http.StatusUnsupportedMediaType, apierror.CodeUnsupportedMedia, "The body must be application/json.")
	}
	raw, err := io.ReadAll(c.Request.Body)
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return apierror.New(http.StatusRequestEntityTooLarge, apierror.CodePayloadTooLarge, "The request body is too large.")
	case err != nil:
		return apierror.New(http.StatusBadRequest, apierror.CodeBadRequest, "The request body could not be read.")
	}
	// Every body is one JSON object; its text must be valid UTF-8 (the
	// decoder would silently replace bad bytes) without NUL characters
	// (no name or identifier holds one, and PostgreSQL refuses them).
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) > 0 && t[0] != '{' {
		return apierror.New(http.StatusBadRequest, apierror.CodeBadRequest, "The body must be a JSON object.")
	}
	if !utf8.Valid(raw) || hasNULEscape(raw) {
		return apierror.New(http.StatusBadRequest, apierror.CodeBadRequest, "The body holds text that is not valid UTF-8 or contains a NUL character.")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err = dec.Decode(dst)
	if err == nil {
		if dec.More() {
			return apierror.New(http.StatusBadRequest, apierror.CodeBadRequest, "The body must hold exactly one JSON value.")
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return apierror.New(http.StatusBadRequest, apierror.CodeBadRequest, "The body must hold exactly one JSON value.")
		}
		return nil
	}
	var (
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return apierror.New(http.StatusBadRequest, apierror.CodeBadRequest, "The request body is empty.")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return apierror.New(http.StatusBadRequest, apierror.CodeBadRequest, "The body is not valid JSON.")
	case errors.As(err, &typeErr):
		field := jsonPath(typeErr.Field)
		e := apierror.New(http.StatusUnprocessableEntity, apierror.CodeValidation, fmt.Sprintf("The field %s must be %s.", field, jsonKind(typeErr.Type.Kind().String())))
		e.Field = field
		return e
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		e := apierror.New(http.StatusUnprocessableEntity, apierror.CodeValidation, fmt.Sprintf("Unknown field %s.", field))
		e.Field = field
		return e
	default:
		var fe *FieldError
		if errors.As(err, &fe) {
			e := apierror.New(http.StatusUnprocessableEntity, apierror.CodeValidation, fe.Message)
			e.Field = fe.Field
			return e
		}
		return apierror.New(http.StatusBadRequest, apierror.CodeBadRequest, "The body is not valid JSON.")
	}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int64", "int32", "float64", "uint32", "uint64":
		return "a number"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "of another type"
}

// FieldError is a validation failure of one field.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Message }

// invalid returns a 422 naming field.
// jsonPath drops the Go type names encoding/json puts in the path of a
// field of an embedded struct: authd's JSON names are snake_case.
func jsonPath(p string) string {
	segs := strings.Split(p, ".")
	out := segs[:0]
	for _, s := range segs {
		if strings.ToLower(s) != s {
			continue
		}
		out = append(out, s)
	}
	return strings.Join(out, ".")
}

// hasNULEscape reports whether a JSON text holds a \u0000 escape inside a
// string (a raw NUL byte is already invalid JSON).
func hasNULEscape(raw []byte) bool {
	inString, escaped := false, false
	for i := 0; i < len(raw); i++ {
		b := raw[i]
		switch {
		case !inString:
			inString = b == '"'
		case escaped:
			escaped = false
			if b == 'u' && i+4 < len(raw) && string(raw[i+1:i+5]) == "0000" {
				return true
			}
		case b == '\\':
			escaped = true
		case b == '"':
			inString = false
		}
	}
	return false
}

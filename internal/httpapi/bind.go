package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// bindJSON decodes the request body into dst: JSON only, one value,
// unknown fields refused. Errors name the offending field.
func bindJSON(c *gin.Context, dst any) error {
	ct := c.ContentType()
	if ct != "application/json" && !strings.HasSuffix(ct, "+json") {
		return NewError(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "The body must be application/json.")
	}
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if dec.More() {
			return NewError(http.StatusBadRequest, CodeBadRequest, "The body must hold exactly one JSON value.")
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return NewError(http.StatusBadRequest, CodeBadRequest, "The body must hold exactly one JSON value.")
		}
		return nil
	}
	var (
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
		maxErr  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &maxErr):
		return NewError(http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "The request body is too large.")
	case errors.Is(err, io.EOF):
		return NewError(http.StatusBadRequest, CodeBadRequest, "The request body is empty.")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return NewError(http.StatusBadRequest, CodeBadRequest, "The body is not valid JSON.")
	case errors.As(err, &typeErr):
		field := jsonPath(typeErr.Field)
		e := NewError(http.StatusUnprocessableEntity, CodeValidation, fmt.Sprintf("The field %s must be %s.", field, jsonKind(typeErr.Type.Kind().String())))
		e.Field = field
		return e
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		e := NewError(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("Unknown field %s.", field))
		e.Field = field
		return e
	default:
		var fe *FieldError
		if errors.As(err, &fe) {
			e := NewError(http.StatusUnprocessableEntity, CodeValidation, fe.Message)
			e.Field = fe.Field
			return e
		}
		return NewError(http.StatusBadRequest, CodeBadRequest, "The body is not valid JSON.")
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
func invalid(field, msg string) *APIError {
	e := NewError(http.StatusUnprocessableEntity, CodeValidation, msg)
	e.Field = field
	return e
}

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

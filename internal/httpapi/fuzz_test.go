package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/authd/authd/internal/apierror"
)

// bindTargets are the request bodies the handlers decode with bindJSON.
var bindTargets = []func() any{
	func() any { return new(authenticateRequest) },
	func() any { return new(refreshRequest) },
	func() any { return new(switchRequest) },
	func() any { return new(createOrgRequest) },
	func() any { return new(createUserRequest) },
	func() any { return new(membershipJSON) },
	func() any { return new(createAPIKeyRequest) },
	func() any { return new(rollAPIKeyRequest) },
	func() any { return new(contactInputJSON) },
	func() any { return new(linkOrgRequest) },
	func() any { return new(registerRequest) },
	func() any { return new(otpRequest) },
	func() any { return new(validateRequest) },
	func() any { return new(contactAuthenticateRequest) },
	func() any { return new(credentialsRequest) },
	func() any { return new(linkRequest) },
}

// fuzzMaxBody is the body cap limitBody would apply (small, so the fuzzer
// reaches it).
const fuzzMaxBody = 4 << 10

// FuzzBindJSON feeds arbitrary Content-Types and bodies to bindJSON, the
// decoder of every JSON request body, for each request type. It must never
// panic; a refusal is an *apierror.Error with a 4xx status, a code and a detail,
// and a success means the body was one JSON object of valid UTF-8 without
// NUL, under a JSON media type, that plain encoding/json decodes to the
// same value.
func FuzzBindJSON(f *testing.F) {
	gin.SetMode(gin.TestMode)
	for i, s := range []struct{ ct, body string }{
		{"application/json", `{"username":"admin@example.com","password":"correct horse"}`},
		{"application/json", `{"refresh_token":"abc"}`},
		{"application/json; charset=utf-8", `{"mode":"test"}`},
		{"application/json", `{"name":"Acme","type":"business","parent_id":"p1"}`},
		{"application/json", `{"email":"a@b.c","password":"x","memberships":[{"organisation_id":"o1","role":"admin"}]}`},
		{"application/merge-patch+json", `{"organisation_id":"o1","role":"owner"}`},
		{"application/json", `{"type":"secret","name":"ci","scopes":["*"],"rate_limit":10,"rate_limit_per_minute":600}`},
		{"application/json", `{"expires_at":"2026-03-01T12:00:00Z"}`},
		{"application/json", `{"id":"c-1","first_name":"Ann","phone_number":"07566224395","country_code":"GBR","email_opt_out":"true","sms_opt_out":false,"service_acceptance":null}`},
		{"application/json", `{"organisation_id":"o2","relationship":"shared"}`},
		{"application/json", `{"first_name":"Ann","identity":{"provider":"email","email":"a@b.c","password":"pw"}}`},
		{"application/json", `{"channel":"sms","phone_number":"+447566224395"}`},
		{"application/json", `{"code":"123456"}`},
		{"application/json", `{"provider":"facebook","token":"t","token_type":"id_token","nonce":"n"}`},
		{"application/json", `{"match":{"email":"a@b.c"},"identity":{"provider":"phone","phone_number":"1","country_code":"GBR"}}`},
		{"application/json", `{"provider":"facebook","token":"t"}`},
	} {
		f.Add(uint8(i), s.ct, []byte(s.body))
	}
	for i, s := range []struct{ ct, body string }{
		{"", `{}`},
		{"text/plain", `{}`},
		{"application/json; charset", `{}`},
		{"application/jsonx", `{}`},
		{"application/json", ``},
		{"application/json", `   `},
		{"application/json", `null`},
		{"application/json", `[]`},
		{"application/json", `"x"`},
		{"application/json", `{} {}`},
		{"application/json", `{}]`},
		{"application/json", `{"username":"a"`},
		{"application/json", `{"username":1}`},
		{"application/json", `{"memberships":[{"role":1}]}`},
		{"application/json", `{"email_opt_out":"yes"}`},
		{"application/json", `{"identity":{"provider":[]}}`},
		{"application/json", `{"nope":1}`},
		{"application/json", `{"username":"a\u0000b"}`},
		{"application/json", "{\"username\":\"a\xffb\"}"},
		{"application/json", `{"username":"\ud800"}`},
		{"application/json", `{"rate_limit":1e999}`},
		{"application/json", `{"rate_limit":-1.5}`},
		{"application/json", `{"username":"a","username":"b"}`},
		{"application/json", `{"USERNAME":"a"}`},
		{"application/json", `{"first_name":"a","FirstName":"b"}`},
		{"application/json", `{"contactInputJSON":{}}`},
		{"application/json", "\ufeff{}"},
		{"application/json", `{"a":` + strings.Repeat("[", 20000) + `}`},
		{"application/json", `{"username":"` + strings.Repeat("x", fuzzMaxBody) + `"}`},
	} {
		f.Add(uint8(i), s.ct, []byte(s.body)) // the fuzzer varies the target
	}

	f.Fuzz(func(t *testing.T, target uint8, contentType string, body []byte) {
		newDst := bindTargets[int(target)%len(bindTargets)]
		dst := newDst()
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		c.Request.Header.Set("Content-Type", contentType)
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, fuzzMaxBody)
		err := bindJSON(c, dst)
		if err != nil {
			var ae *apierror.Error
			if !errors.As(err, &ae) {
				t.Fatalf("bindJSON(%q, %q) = %T %v, not an *apierror.Error", contentType, body, err, err)
			}
			switch ae.Status {
			case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
			default:
				t.Fatalf("bindJSON(%q, %q) = %d %v", contentType, body, ae.Status, ae)
			}
			if ae.Code == "" || ae.Detail == "" || !utf8.ValidString(ae.Detail) {
				t.Fatalf("bindJSON(%q, %q) = %+v", contentType, body, ae)
			}
			return
		}
		mt, _, perr := mime.ParseMediaType(contentType)
		if perr != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			t.Fatalf("bindJSON accepted Content-Type %q", contentType)
		}
		if len(body) > fuzzMaxBody {
			t.Fatalf("bindJSON accepted a body of %d bytes over the cap", len(body))
		}
		if !utf8.Valid(body) || !json.Valid(body) {
			t.Fatalf("bindJSON accepted %q, which is not one valid JSON text", body)
		}
		if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
			t.Fatalf("bindJSON accepted %q, which is not a JSON object", body)
		}
		if hasNUL(reflect.ValueOf(dst)) {
			t.Fatalf("bindJSON(%q) decoded a NUL: %+v", body, dst)
		}
		plain := newDst()
		if err := json.Unmarshal(body, plain); err != nil || !reflect.DeepEqual(plain, dst) {
			t.Fatalf("bindJSON(%q) = %+v, encoding/json gives %+v (%v)", body, dst, plain, err)
		}
	})
}

// hasNUL reports whether a string inside v holds a NUL character.
func hasNUL(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return strings.ContainsRune(v.String(), 0)
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && hasNUL(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if hasNUL(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if hasNUL(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if hasNUL(it.Key()) || hasNUL(it.Value()) {
				return true
			}
		}
	}
	return false
}

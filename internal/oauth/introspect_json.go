package oauth

import (
	"net/http"
	"strconv"
	"unicode/utf8"
)

// Introspection answers are written by hand: the same bytes
// encoding/json writes for the struct (TestIntrospectionJSON compares
// them), without reflection. Introspection is the hottest OAuth endpoint.

var (
	headerJSON    = []string{"application/json;charset=UTF-8"}
	headerNoStore = []string{"no-store"}
	headerNoCache = []string{"no-cache"}
)

// writeIntrospection writes res as writeJSON would.
func writeIntrospection(w http.ResponseWriter, res Introspection) {
	h := w.Header()
	h["Content-Type"] = headerJSON
	h["Cache-Control"] = headerNoStore
	h["Pragma"] = headerNoCache
	buf := make([]byte, 0, 512)
	buf = res.appendJSON(buf)
	_, _ = w.Write(append(buf, '\n'))
}

// appendJSON appends what json.Marshal makes of in.
func (in Introspection) appendJSON(b []byte) []byte {
	b = append(b, `{"active":`...)
	b = strconv.AppendBool(b, in.Active)
	str := func(name, v string) {
		if v != "" {
			b = append(b, `,"`...)
			b = append(b, name...)
			b = append(b, `":`...)
			b = appendJSONString(b, v)
		}
	}
	num := func(name string, v int64) {
		if v != 0 {
			b = append(b, `,"`...)
			b = append(b, name...)
			b = append(b, `":`...)
			b = strconv.AppendInt(b, v, 10)
		}
	}
	str("scope", in.Scope)
	str("client_id", in.ClientID)
	str("username", in.Username)
	str("token_type", in.TokenType)
	str("token_use", in.TokenUse)
	num("exp", in.Exp)
	num("iat", in.Iat)
	num("nbf", in.Nbf)
	str("sub", in.Sub)
	if len(in.Aud) > 0 {
		b = append(b, `,"aud":[`...)
		for i, a := range in.Aud {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, a)
		}
		b = append(b, ']')
	}
	str("iss", in.Iss)
	str("jti", in.Jti)
	str("org", in.Org)
	str("mode", in.Mode)
	str("kind", in.Kind)
	str("home_org", in.HomeOrg)
	if in.ServiceOwner {
		b = append(b, `,"service_owner":true`...)
	}
	str("key_id", in.KeyID)
	return append(b, '}')
}

// appendJSONString appends s as encoding/json quotes it (HTML-safe:
// <, > and & escaped; invalid UTF-8 as U+FFFD; U+2028 and U+2029
// escaped).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

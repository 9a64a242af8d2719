package oauth

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// TestIntrospectionJSON: the hand-written answer is byte for byte what
// encoding/json writes, for every field and every kind of character.
func TestIntrospectionJSON(t *testing.T) {
	odd := "a\"b\\c<d>e&f\x00\x01\b\f\n\r\t\x1f\x7f é 漢 \u2028\u2029 \xff\xfe end"
	for _, in := range []Introspection{
		{},
		{Active: true},
		{Active: true, Scope: "a b", ClientID: "c", Username: "u", TokenType: "Bearer", TokenUse: "access_token",
			Exp: 1, Iat: -2, Nbf: 1 << 40, Sub: "s", Aud: []string{"x", "y"}, Iss: "https://i", Jti: "j", Org: "o",
			Mode: "live", Kind: "user", HomeOrg: "h", ServiceOwner: true, KeyID: "k"},
		{Active: true, Aud: []string{}, Scope: odd},
		{Active: true, Scope: odd, Sub: odd, Aud: []string{odd, ""}, Iss: odd, KeyID: odd},
	} {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(in); err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		writeIntrospection(w, in)
		if got := w.Body.String(); got != want.String() {
			t.Errorf("\ngot  %s\nwant %s", got, want.String())
		}
		if w.Header().Get("Content-Type") != "application/json;charset=UTF-8" || w.Header().Get("Cache-Control") != "no-store" ||
			w.Header().Get("Pragma") != "no-cache" {
			t.Errorf("headers %v", w.Header())
		}
	}
}

func FuzzIntrospectionJSON(f *testing.F) {
	f.Add("a<b>&\"\\\x00\u2028\xff", int64(7))
	f.Fuzz(func(t *testing.T, s string, n int64) {
		in := Introspection{Active: n%2 == 0, Scope: s, Sub: s, Aud: []string{s, s}, Exp: n, KeyID: s}
		want, _ := json.Marshal(in)
		if got := in.appendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("got %s want %s", got, want)
		}
	})
}

package ident

import (
	"errors"
	"net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxEmailLength is the longest address accepted, in bytes of its normal
// form (RFC 5321's path limit less the angle brackets).
const MaxEmailLength = 254

var (
	// ErrInvalid: not a plain email address (local@domain, with a dot in
	// the domain and no display name, comment or quoting).
	ErrInvalid = errors.New("ident: not a valid email address")
	// ErrInvisible: the text holds a character that shows as nothing or
	// as something else: a control or formatting character (zero-width
	// space, soft hyphen, bidirectional marks, byte-order mark, ...), any
	// other default-ignorable code point, a private-use or unassigned code
	// point, a line separator and, in an email address, a space or a
	// combining mark not bound to a script.
	ErrInvisible = errors.New("ident: invisible, formatting or control character")
	// ErrMixedScript: the local part, or one domain label, mixes letters
	// of scripts that are not written together (e.g. Latin and Cyrillic).
	ErrMixedScript = errors.New("ident: mixes scripts")
)

// Email returns the normal form of an email address typed by someone: the
// text trimmed of surrounding white space, NFKC-normalised (fullwidth
// "ａｄｍｉｎ" becomes "admin") and lower-cased. It refuses, whatever
// their display, addresses holding invisible, formatting or control
// characters, spaces, or combining marks left over after normalisation
// (ErrInvisible), and addresses whose local part or any domain label
// mixes scripts (ErrMixedScript); characters common to all scripts
// (digits, '.', '-', '_', '+') mix with any, and a label wholly in one
// non-Latin script (an internationalised domain) is fine. The scripts
// written together (Latin with Han, Hiragana and Katakana; with Han and
// Bopomofo; with Han and Hangul) may share a label, as UTS #39's highly
// restrictive level allows. Anything else that is not a plain address is
// ErrInvalid. Email is idempotent: Email of a normal form returns it.
func Email(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", ErrInvisible
	}
	e := norm.NFKC.String(strings.ToLower(norm.NFKC.String(s)))
	for _, r := range e {
		if invisible(r) || unicode.In(r, unicode.Z) || strayMark(r) {
			return "", ErrInvisible
		}
	}
	if e == "" || len(e) > MaxEmailLength {
		return "", ErrInvalid
	}
	at := strings.LastIndexByte(e, '@')
	if at <= 0 {
		return "", ErrInvalid
	}
	local, domain := e[:at], e[at+1:]
	if a, err := mail.ParseAddress(e); err != nil || a.Address != e || !strings.Contains(domain, ".") {
		return "", ErrInvalid
	}
	if mixedScripts(local) {
		return "", ErrMixedScript
	}
	for label := range strings.SplitSeq(domain, ".") {
		if label == "" {
			return "", ErrInvalid
		}
		if mixedScripts(label) {
			return "", ErrMixedScript
		}
	}
	return e, nil
}

// Text checks other text people type that names or identifies someone (a
// first or last name, a contact's cross-reference code): it refuses
// invisible, formatting and control characters and line separators
// (ErrInvisible). Spaces and combining marks are part of names and stay.
func Text(s string) error {
	if !utf8.ValidString(s) {
		return ErrInvisible
	}
	for _, r := range s {
		if invisible(r) {
			return ErrInvisible
		}
	}
	return nil
}

// StripInvisible returns s without the characters Text refuses: for text
// a third party vouches for (a Facebook profile's name), kept as readable
// as it can be rather than refused.
func StripInvisible(s string) string {
	return strings.Map(func(r rune) rune {
		if invisible(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

// invisible reports whether r shows as nothing, or as its neighbours'
// business: control (Cc) and format (Cf: soft hyphen U+00AD, zero-width
// U+200B–U+200D, marks U+200E–U+200F and U+202A–U+202E, word joiner and
// invisible operators U+2060–U+2064, byte-order mark U+FEFF, ...)
// characters, the other default-ignorable code points (Hangul fillers,
// combining grapheme joiner, variation selectors, ...), line and paragraph
// separators, private-use, unassigned and non-characters.
func invisible(r rune) bool {
	return r == utf8.RuneError ||
		unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cn, unicode.Zl, unicode.Zp,
			unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector, unicode.Noncharacter_Code_Point)
}

// strayMark reports whether r is a combining mark not bound to one script
// (script Inherited: accents and overlays that attach to any letter, like
// U+0307 on "i"), left over after NFKC composed what it could. Marks of a
// script (a Devanagari vowel sign) belong to that script's words and are
// checked with it by mixedScripts.
func strayMark(r rune) bool {
	return unicode.In(r, unicode.Mn, unicode.Me) && unicode.Is(unicode.Inherited, r)
}

// mixedScripts reports whether s holds letters of scripts not written
// together (Common and Inherited characters mix with any).
func mixedScripts(s string) bool {
	var seen []string
	for _, r := range s {
		sc := script(r)
		if sc == "" {
			continue
		}
		if !slices.Contains(seen, sc) {
			seen = append(seen, sc)
		}
	}
	if len(seen) < 2 {
		return false
	}
	for _, set := range togetherSets {
		if subset(seen, set) {
			return false
		}
	}
	return true
}

// togetherSets are the scripts written together in one word (UTS #39,
// highly restrictive): Japanese, Chinese with Bopomofo, and Korean, each
// with Latin.
var togetherSets = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

// script returns the name of r's script, "" for Common and Inherited
// characters (digits, punctuation, marks shared by scripts).
func script(r rune) string {
	switch {
	case r < utf8.RuneSelf:
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
			return "Latin"
		}
		return ""
	case unicode.Is(unicode.Common, r), unicode.Is(unicode.Inherited, r):
		return ""
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

// subset reports whether every element of a is in b.
func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

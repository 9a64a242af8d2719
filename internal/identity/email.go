package identity

import (
	"errors"
	"strings"

	"github.com/authd/authd/internal/ident"
)

// NormaliseEmail returns the normal form of an email address taken from
// outside (ident.Email: NFKC, lower case), so that a look-alike spelling
// of an address is the same address or is refused; a refusal is a
// ValidationError naming field.
func NormaliseEmail(email, field string) (string, error) {
	e, err := ident.Email(email)
	if err != nil {
		return "", &ValidationError{Field: field, Message: emailMessage(err)}
	}
	return e, nil
}

// signInEmail is the account a password sign-in looks up: the normal form
// of email. A merely malformed address names no account and is checked
// like an unknown one (the same limits, cost and answer); a look-alike
// (an invisible character, mixed scripts) is refused as invalid input,
// naming field.
func signInEmail(email, field string) (string, error) {
	e, err := ident.Email(email)
	switch {
	case err == nil:
		return e, nil
	case errors.Is(err, ident.ErrInvalid):
		return strings.ToLower(strings.TrimSpace(email)), nil
	}
	return "", &ValidationError{Field: field, Message: emailMessage(err)}
}

func emailMessage(err error) string {
	switch {
	case errors.Is(err, ident.ErrInvisible):
		return "The email address holds a space, an invisible, formatting or control character, or a stray combining mark."
	case errors.Is(err, ident.ErrMixedScript):
		return "The email address mixes letters of different scripts (such as Latin and Cyrillic) in its local part or in a domain label."
	}
	return "The email address is not valid."
}

// checkText applies ident.Text to the named fields (name, value pairs):
// names and codes hold no invisible, formatting or control character.
func checkText(fields ...[2]string) error {
	for _, f := range fields {
		if ident.Text(f[1]) != nil {
			return &ValidationError{Field: f[0], Message: "The " + f[0] + " holds an invisible, formatting or control character."}
		}
	}
	return nil
}

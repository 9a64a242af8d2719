// Package ident owns the rule for the identifiers people type: email
// addresses above all, and the other text that names or identifies
// someone (contact codes, first and last names). An address has one normal
// form (Unicode NFKC, then lower case), so a fullwidth or otherwise
// compatibility-encoded spelling is the same address as its plain one;
// what would only display like another address (an invisible or
// formatting character, a space, a stray combining mark, or letters of
// two scripts within the local part or within one domain label, such as a
// Cyrillic "е" among Latin letters) is refused rather than stored as a
// second account. Every door that takes an email from outside (creation,
// registration, sign-in, one-time codes, adding credentials) goes through
// Email; names and codes go through Text.
package ident

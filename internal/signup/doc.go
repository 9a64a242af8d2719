// Package signup runs the sign-up of an organisation with its owner, made
// with a back-office public API key: the organisation is created below the
// key's organisation once a one-time code proves the owner's email.
//
// Register checks the input (identity's rules for organisations and
// users), counts the rate limits per client IP, API key and owner email,
// hashes the password and sends a code to the email; the pending sign-up
// (the password only as its hash) travels inside the code's sealed record.
// An email that already has an account gets the same answer, the same work
// and a code of its own, with a "you already have an account" text; that
// code creates nothing. Complete spends the code and creates the
// organisation, the owner and the owner's owner membership in one
// transaction; signin then signs the owner in.
package signup

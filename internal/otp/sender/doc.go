// Package sender delivers one-time codes: it owns the Sender interface the
// otp service talks to and its implementations, chosen by name with New:
//
//   - log: development only; writes the code to the log (serve --dev);
//   - webhook: POSTs the signed JSON payload of docs/contract.md to a URL
//     (the customer's own SMS/email gateway), with retries;
//   - smtp: email through an SMTP relay (go-mail), STARTTLS by default;
//   - twilio: SMS through Twilio's Messages API.
//
// Fake records messages for tests; nothing in authd swaps package-level
// variables to mock delivery.
//
// A Sender never logs a code (except the log sender, which exists for that)
// and never puts the code or the full destination in its errors: callers
// log those errors.
package sender

// Package otp issues and verifies one-time codes sent by SMS or email.
//
// A code is crypto/rand digits. Only its HMAC-SHA256 (keyed from the system
// secret, purpose "otp", over otpID||code) is kept, inside a record sealed
// with AES-GCM (purpose "otp-record") and stored in the shared cache under
// the random OTP id with the code's TTL, so Redis holds neither the code
// nor the destination nor the caller's Data in the clear.
//
// Issue applies, in order: request validation and the SMS region
// allow-list; rate limits per destination, per client IP and per API key;
// the resend cooldown per destination; the per-business hourly SMS budget.
// Every one of them applies whether a contact matched (Request.Deliver) or
// not, and an unmatched request stores a decoy record that never verifies
// and waits about as long as a real delivery takes, so neither the answer
// nor its timing tells whether a contact exists.
//
// Verify counts every attempt before comparing (so parallel guesses cannot
// exceed the limit), compares in constant time, and consumes a right code
// with an atomic GetDel: of two concurrent right answers exactly one wins.
//
// Delivery goes through a sender.Sender (package sender) with a context
// bounded by Config.SendTimeout: the business's own (UseDeliveries,
// Deliveries; with its own texts per locale, LocaleTemplates) when it has
// one that carries the channel, else the service-wide one. The choice
// depends on the business, mode and channel only, and each delivery has
// its own latency estimate for pacing, so it tells nothing about the
// destination. The package never logs a code, Data or a
// full destination (sender.Mask).
package otp

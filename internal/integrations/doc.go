// Package integrations owns a business's own integrations with the
// outside world; today its delivery of one-time codes
// (/backoffice/v1/integrations/otp).
//
// A business configures, per mode (live, test), a sender (webhook, smtp or
// twilio, with the setting names of the service-wide otp section) and its
// own texts per purpose and BCP 47 locale. Who may: an owner or admin of
// the business (a user's token acting for it), or the business's secret
// API key (the door checks the key's type and scope). Secrets (webhook
// secret, SMTP password, Twilio auth token) are sealed with the system
// secret (AES-256-GCM, purpose "otp-integration", bound to the business
// and mode), never returned and never logged; every change is audited.
//
// The OTP service asks Delivery (otp.Deliveries) for the business's
// delivery on every code: answers come from a per-replica cache
// (lastgood) that every change empties on every replica by pub/sub, with
// a short TTL behind it should a message be lost, and that answers its
// last good copy while the database is down.
//
// Webhooks and SMTP relays a business names are reached only at public
// addresses: https only, and every connection is checked after name
// resolution (sender.PublicOnly), so a business cannot make authd call
// its internal network or a cloud metadata service.
package integrations

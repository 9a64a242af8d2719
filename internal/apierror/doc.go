// Package apierror is the one table from authd's domain errors to what a
// client sees: the HTTP status and stable problem code of the CRM-style
// endpoints (RFC 9457 problem+json), the RFC 6749 error of the OAuth
// endpoints, a hint, and Retry-After. The doors (httpapi, oauth) render
// errors through it and nothing else, so one failure reads the same at
// every entry point.
package apierror

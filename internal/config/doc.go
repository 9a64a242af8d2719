// Package config owns authd's configuration: the typed Config with one
// sub-struct per concern, its defaults, loading (YAML file, then AUTHD_*
// environment overrides) and validation in one pass.
//
// Nothing else in authd reads the environment. Every key of the YAML file
// can be overridden by the variable named AUTHD_ + the key path upper-cased
// with dots turned into underscores (otp.webhook_url → AUTHD_OTP_WEBHOOK_URL).
package config

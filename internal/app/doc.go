// Package app is authd's composition root: it turns a validated
// config.Config into running services (store, cache, keys, tokens, OAuth,
// HTTP engines) and runs the listeners with graceful shutdown.
//
// cmd/authd parses flags and calls it; end-to-end tests call it too, so the
// server they exercise is wired exactly as the binary is. (style.md puts
// the composition in cmd/authd; a package main cannot be imported by tests
// in other packages, hence this one.)
package app

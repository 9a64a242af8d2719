// Package store defines authd's durable storage contract: plain value types,
// the Store interface and the sentinel errors every backend returns.
//
// It imports nothing but the standard library. Backends live in
// subpackages (sqlstore) and prove they meet the contract by running the
// shared conformance suite in storetest. Callers only ever compare errors
// with errors.Is against ErrNotFound, ErrAlreadyExists and ErrUnavailable.
package store

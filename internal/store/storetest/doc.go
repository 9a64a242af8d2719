// Package storetest is the conformance suite every store.Store backend
// runs, in the manner of dex's storage/conformance: a backend's test is a
// call to RunTests with a constructor of fresh, empty, migrated stores.
//
// The suite pins down what store.go leaves to prose: round-trips of every
// field (nil versus set timestamps, nil versus empty slices, Mode, sealed
// bytes), the sentinel errors, case-insensitive email uniqueness, update
// closures, transaction commit and rollback (nested included), ordering
// and pagination, TouchAPIKeys never moving backwards, UpdateSigningKeys
// being exclusive under concurrency, refresh-token rotation letting exactly
// one of several concurrent rotations win (the others get ErrConflict),
// revocations keeping an earlier time, tenant and mode isolation of
// contacts and identities, and ErrUnavailable after Close.
//
// Timestamps are compared as instants and must come back in UTC; backends
// must keep at least microsecond precision (PostgreSQL's), so the suite
// uses microsecond times. Nil and empty slices are treated as equal.
package storetest

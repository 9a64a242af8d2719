// Command authd is the identity and token service: see `authd --help`.
package main

import (
	"errors"
	"fmt"
	"os"
)

// Exit codes.
const (
	exitError    = 1
	exitConfig   = 2
	exitNotEmpty = 3
)

// exitErr carries an exit code out of a command.
type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string { return e.err.Error() }
func (e *exitErr) Unwrap() error { return e.err }

func main() {
	cmd := newRootCmd()
	if err := cmd.Execute(); err != nil {
		code := exitError
		var ee *exitErr
		if errors.As(err, &ee) {
			code = ee.code
		}
		fmt.Fprintln(os.Stderr, "authd:", err)
		os.Exit(code)
	}
}

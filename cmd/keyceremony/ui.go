package main

import (
	"fmt"
	"os"

	"golang.org/x/term"
)

// isTerminal reports whether the officers sit at a terminal.
func isTerminal() bool {
	return term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd()))
}

// guard runs f and turns a panic into an error that says what happened,
// without a stack trace: no panic reaches an officer.
func guard[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error (%v): the step was stopped where it was; nothing recorded in the journal is lost", r)
		}
	}()
	return f()
}

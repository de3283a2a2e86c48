package main

import (
	"errors"
	"fmt"

	"github.com/keyceremony/keyceremony/workstation"
)

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

// signerFlags defines --tpm and --software-key (softwareUse says what
// the software key is for); the function it returns opens the workstation
// key they name.
func signerFlags(fs *flags, softwareUse string) func() (workstation.Signer, func() error, error) {
	tpmPath := fs.String("tpm", workstation.DefaultTPMPath, "this workstation's TPM device, or swtpm:/path/to.sock")
	softwareKey := fs.String("software-key", "", softwareUse)
	return func() (workstation.Signer, func() error, error) {
		s, closeFn, err := workstation.Open(*tpmPath, *softwareKey)
		if errors.Is(err, workstation.ErrNoTPM) {
			return s, nil, fmt.Errorf("%w: give --software-key FILE", err)
		}
		return s, closeFn, err
	}
}

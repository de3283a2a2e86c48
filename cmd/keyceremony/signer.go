package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/keyceremony/keyceremony/internal/cli"
	"github.com/keyceremony/keyceremony/workstation"
)

// signerFlags defines --tpm and --software-key (softwareUse says what
// the software key is for); the function it returns opens the workstation
// key they name (notice hears of a software key made new).
func signerFlags(fs *cli.Flags, softwareUse string) func(notice io.Writer) (workstation.Signer, func() error, error) {
	tpmPath := fs.String("tpm", workstation.DefaultTPMPath, "this workstation's TPM device, or swtpm:/path/to.sock")
	softwareKey := fs.String("software-key", "", softwareUse)
	return func(notice io.Writer) (workstation.Signer, func() error, error) {
		s, closeFn, err := workstation.Open(*tpmPath, *softwareKey, notice)
		if errors.Is(err, workstation.ErrNoTPM) {
			return s, nil, fmt.Errorf("%w: give --software-key FILE", err)
		}
		return s, closeFn, err
	}
}

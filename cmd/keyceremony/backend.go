package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/keyceremony/keyceremony/config"
	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/workstation"
)

// backendFlag defines the --backend flag of the commands that open keys.
func backendFlag(fs *flag.FlagSet) *string {
	return fs.String("backend", "", "CTAP backend: native (default) or libfido2 (a -tags libfido2 build); overrides the config's backend")
}

// backend is the config's backend, or override when the flag names one.
func configBackend(c *config.File, override string) (fidokey.Backend, error) {
	if override != "" {
		c.Backend = override
	}
	return fidokey.ParseBackend(c.Backend)
}

// openSigner opens the workstation key; hint says how this command
// chooses a software key when there is no TPM (a flag or a config key).
func openSigner(tpmPath, softwareKey, hint string) (workstation.Signer, func() error, error) {
	s, closeFn, err := workstation.Open(tpmPath, softwareKey)
	if errors.Is(err, workstation.ErrNoTPM) {
		return s, nil, fmt.Errorf("%w: %s", err, hint)
	}
	return s, closeFn, err
}

// Where each command takes a software key from.
const (
	softwareKeyFlagHint   = "give --software-key FILE"
	softwareKeyConfigHint = `set "software_key": "FILE" in the config file`
)

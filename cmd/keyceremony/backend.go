package main

import (
	"flag"

	"github.com/keyceremony/keyceremony/fidokey"
)

// backendFlag defines the --backend flag of the commands that open keys.
func backendFlag(fs *flag.FlagSet) *string {
	return fs.String("backend", "", "CTAP backend: native (default) or libfido2 (a -tags libfido2 build); overrides the config's backend")
}

// backend is the config's backend, or override when the flag names one.
func (c *ceremonyConfig) backend(override string) (fidokey.Backend, error) {
	if override != "" {
		c.Backend = override
	}
	return fidokey.ParseBackend(c.Backend)
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/keyceremony/keyceremony/ctap"
)

// Backend names.
const (
	backendNative   = "native"
	backendLibfido2 = "libfido2"
)

// libfido2Deviation is recorded in a report whose keys went through libfido2.
const libfido2Deviation = "keys driven through the libfido2 backend (go-libfido2): getInfo without firmware version or minimum PIN length, " +
	"no authenticatorConfig, no touch prompts from the key, PIN copies left in C memory by go-libfido2"

// backend opens device addresses as ctap.Authenticators.
type backend struct{ name string }

// parseBackend checks a --backend value against this build.
func parseBackend(name string) (backend, error) {
	switch name {
	case "", backendNative:
		return backend{name: backendNative}, nil
	case backendLibfido2:
		if !libfido2Built {
			return backend{}, fmt.Errorf("this keyceremony was built without the libfido2 backend: build it with `go build -tags libfido2 ./cmd/keyceremony` (cgo and Debian's libfido2-dev)")
		}
		return backend{name: backendLibfido2}, nil
	}
	return backend{}, fmt.Errorf("unknown backend %q: native or libfido2", name)
}

// backendFlag defines the --backend flag of the commands that open keys.
func backendFlag(fs *flag.FlagSet) *string {
	return fs.String("backend", "", "CTAP backend: native (default) or libfido2 (a -tags libfido2 build); overrides the config's backend")
}

// backend is the config's backend, or override when the flag names one.
func (c *ceremonyConfig) backend(override string) (backend, error) {
	if override != "" {
		c.Backend = override
	}
	return parseBackend(c.Backend)
}

// open opens addr; onKeepalive hears the key's keepalives (native only).
func (b backend) open(ctx context.Context, addr string, onKeepalive func(ctap.Keepalive)) (ctap.Authenticator, io.Closer, error) {
	if b.name == backendLibfido2 {
		path, ok := strings.CutPrefix(addr, "hidraw:")
		if !ok {
			return nil, nil, fmt.Errorf("the libfido2 backend opens hidraw devices only, not %s", addr)
		}
		return openLibfido2(path)
	}
	c, dev, err := openClientWith(ctx, addr, ctap.Options{OnKeepalive: onKeepalive})
	if err != nil {
		return nil, nil, err
	}
	return c, dev, nil
}

// deviations are what a report must record about the backend.
func (b backend) deviations() []string {
	if b.name == backendLibfido2 {
		return []string{libfido2Deviation}
	}
	return nil
}

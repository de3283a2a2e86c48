//go:build libfido2 && cgo

package fidokey

import (
	"io"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/ctap/libfido2"
)

// libfido2Built says this binary has the libfido2 backend.
const libfido2Built = true

// openLibfido2 opens a hidraw path through libfido2.
func openLibfido2(path string) (ctap.Authenticator, io.Closer, error) {
	a, err := libfido2.Open(path, libfido2.Options{})
	if err != nil {
		return nil, nil, err
	}
	return a, io.NopCloser(nil), nil
}

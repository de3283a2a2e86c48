//go:build !(libfido2 && cgo)

package fidokey

import (
	"errors"
	"io"

	"github.com/keyceremony/keyceremony/ctap"
)

// libfido2Built says this binary has the libfido2 backend.
const libfido2Built = false

// openLibfido2 is unavailable in this build (ParseBackend says so first).
func openLibfido2(string) (ctap.Authenticator, io.Closer, error) {
	return nil, nil, errors.New("built without the libfido2 backend")
}

package ctap

import (
	"errors"
	"fmt"

	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// ErrNoCredentials is matched (errors.Is) by the key's answer that it holds no
// credential for the request (CTAP2_ERR_NO_CREDENTIALS).
var ErrNoCredentials error = ctapwire.StatusNoCredentials

// ErrNotAllowed is matched (errors.Is) by the key's answer that the
// operation is not allowed now (CTAP2_ERR_NOT_ALLOWED), e.g. a reset more
// than 10 seconds after the key was plugged in.
var ErrNotAllowed error = ctapwire.StatusNotAllowed

// ErrMalformedReply is wrapped by every error caused by a reply that does not
// follow CTAP2 (bad CBOR, missing fields, wrong types, bad lengths).
var ErrMalformedReply = ctapwire.ErrMalformedReply

// LowRetriesError is returned, before any PIN is sent, when the key has no
// more PIN retries left than the safety floor and the caller did not confirm
// that exact number. Sending a wrong PIN now could block the key for good.
type LowRetriesError struct {
	Left  int // PIN retries the key reports
	Floor int // the floor at or below which a person must confirm
}

// Error implements error.
func (e *LowRetriesError) Error() string {
	return fmt.Sprintf(
		"only %d PIN retries left (safety floor %d): not sending a PIN without an explicit confirmation of that number",
		e.Left,
		e.Floor,
	)
}

// PINError is a wrong-PIN answer together with the retries the key has left.
type PINError struct {
	Status      ctapwire.Status // PIN invalid, PIN auth blocked or PIN blocked (CTAP 2.1 §8.2)
	RetriesLeft int             // -1 when the key could not be asked
}

// Error implements error.
func (e *PINError) Error() string {
	if e.RetriesLeft < 0 {
		return e.Status.Error()
	}
	return fmt.Sprintf("%v; %d retries left", e.Status, e.RetriesLeft)
}

// Unwrap lets errors.Is match the Status.
func (e *PINError) Unwrap() error { return e.Status }

// ErrUnsupported is wrapped by every backend's "cannot perform" error,
// so callers can tell "this backend cannot do that" from a refusal by
// the key.
var ErrUnsupported = errors.New("operation not supported by this backend")

// Package conformance is the behaviour suite a CTAP backend must pass
// against simkey; the native client and go-libfido2 both run it.
//
// In full, it is the behaviour suite every keyceremony CTAP backend
// must pass against simkey: the native Go client, and go-libfido2 reaching
// simkey through the hidraw shim. What a backend documents it cannot do is
// checked to fail clearly (ctap.ErrUnsupported, Info.Unavailable) instead.
package conformance

// Package conformance is the behaviour suite every keyceremony CTAP backend
// must pass against simkey: the native Go client, and go-libfido2 through the
// hidraw shim. What a backend documents it cannot do must fail clearly
// (ctap.ErrUnsupported, Info.Unavailable).
package conformance

//go:build libfido2 && cgo

package libfido2

// Serve lends the external tests the shim set-up of the internal ones.
var Serve = serve

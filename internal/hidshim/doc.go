// Package hidshim builds the LD_PRELOAD library (csrc/hidraw_shim.c) that
// lets unmodified libfido2 programs, and go-libfido2 in a test binary, open a
// simkey socket as if it were a hidraw node. Tests only.
package hidshim

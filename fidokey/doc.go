// Package fidokey is the one way to reach a security key: an address and a
// backend become a ctap.Authenticator, opened when it is the only key plugged in.
//
// In full, it is the one way keyceremony reaches a security key: it turns
// an address (hidraw:/dev/hidrawN, simkey:/path) and a backend choice into a
// ctap.Authenticator, finds the keys plugged in, and opens the one key an
// instruction asked for, insisting that it is alone.
package fidokey

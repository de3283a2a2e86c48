// Package fidokey is the one way keyceremony reaches a security key: an
// address (hidraw:/dev/hidrawN, simkey:/path) and a backend become a
// ctap.Authenticator, opened only when it is the one key plugged in.
package fidokey

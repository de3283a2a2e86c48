// Package libfido2 is keyceremony's second CTAP backend: the
// ctap.Authenticator interface implemented with github.com/keys-pub/go-libfido2
// on Yubico's libfido2, the reference CTAP stack OpenSSH and systemd use.
//
// It is built only with `-tags libfido2` (cgo and Debian's libfido2-dev);
// without the tag the package is empty and `keyceremony --backend libfido2`
// says how to get a build that has it.
//
// What go-libfido2 (checked at v1.5.4-0.20230628025503-281619cff413 on
// libfido2 1.12) cannot do, the backend refuses with a ctap.UnsupportedError
// or says in ctap.Info.Unavailable, never approximates silently:
//
//   - getInfo: only versions, extensions, AAGUID, options and PIN protocols;
//     no firmwareVersion, minPINLength, forcePINChange, maxMsgSize,
//     remainingDiscoverableCredentials, certifications or algorithms.
//   - authenticatorConfig (setMinPINLength, toggleAlwaysUv) and selection.
//   - makeCredential: one algorithm, no enterprise attestation; excludeList
//     is emulated with silent (up=false) probes, as browsers do; "tpm"
//     attestation cannot be rebuilt.
//   - getAssertion returns the first assertion only.
//   - credential enumeration gives IDs and users, not public keys or
//     credProtect levels.
//   - no keepalive events (the UI cannot see UPNEEDED), no CTAPHID_CANCEL
//     (a cancelled call returns at once; the key waits for its touch until
//     its own timeout), and the PIN goes to C memory as a string
//     go-libfido2 never wipes.
package libfido2

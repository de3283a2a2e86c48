// Package graphemu is a local Microsoft Graph emulator that answers the
// ceremony's requests as Entra does. Tests and rehearsals only.
//
// In full, it is a local Microsoft Graph and Entra ID token endpoint
// for tests and rehearsals. It serves HTTPS on loopback with a CA it makes,
// and validates requests the way Entra does where it matters to a key
// ceremony: challenges expire and are accepted once; rp id hash, origin,
// type and challenge are checked; the attestation must verify and its AAGUID
// pass the FIDO2 method policy; errors come in Graph's shape. It also
// serves the posture and sign-in reads the health check needs, and can
// inject faults (429 with Retry-After, 503, slowness, a dropped connection
// after a write committed).
package graphemu

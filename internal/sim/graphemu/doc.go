// Package graphemu is a local Microsoft Graph and Entra ID token endpoint
// for tests and rehearsals, serving HTTPS on loopback with a CA it makes. It
// validates what matters to a key ceremony as Entra does (challenges expire
// and are accepted once; rp id hash, origin, type and challenge; the
// attestation and the FIDO2 method policy), answers errors in Graph's shape,
// serves the posture and sign-in reads, and injects faults (429 with
// Retry-After, 503, slowness, a dropped connection after a committed write).
package graphemu

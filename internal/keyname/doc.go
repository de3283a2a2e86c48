// Package keyname makes the display names keys get in Entra ID, and checks a
// configured pattern for them before anything is done to a key.
//
// Entra refuses a FIDO2 method display name longer than 30 characters. No
// Microsoft page states the limit; the clients that register keys on behalf
// of users hold names to it:
//   - DSInternals.Passkeys, New-Passkey: [ValidateLength(1, 30)] $DisplayName
//     (MichaelGrafnetter/webauthn-interop, Src/DSInternals.Passkeys/DSInternals.Passkeys.psm1,
//     commit 88aa4958b4dae70c951a87e80b1d18b486d83e50);
//   - powershellYK's Entra enrolment script: [ValidateLength(3,30)] "Name of
//     the YubiKey in Entra ID (3-30 characters)" (virot/powershellYK,
//     Docs/Cookbook/Enroll-FIDO2-On-Behalf-Of-Entra-ID.ps1, commit
//     1de7b3211b0fb5922d72426fd42c9b7dd8983f99), after its issue #135
//     (https://github.com/virot/powershellYK/issues/135) reported
//     registrations failing "over the 30 character Entra ID description limit".
//
// A name here is held to the stricter of the two: 3 to 30 characters,
// counted as .NET counts a string's Length (UTF-16 code units).
package keyname

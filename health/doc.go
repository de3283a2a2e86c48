// Package health re-verifies a break-glass account's keys and audits its
// posture, read only, and signs a health report chained to the last.
//
// In full, it re-verifies a break-glass account's keys between
// ceremonies, without changing anything: the last signed report must verify
// first; then each key is shown to be the same model and firmware, to still
// hold its credential (a local test assertion checked against the public key
// in the report, no sign-in to Entra), and to take its PIN; Graph must still
// list exactly the recorded methods, no sign-in may have happened, and the
// account's posture is audited. Every check ends pass, finding or could not
// check (naming what was missing), and the result is a signed health report
// chained to the last report.
package health

// Package ceremony runs the two-person key ceremony as steps, one method
// each, recorded in a hash-chained journal that a resume trusts.
//
// In full, it is the key ceremony as a state machine, with no UI: the
// steps of DESIGN.md (preflight; per key insert, reset, PIN, create,
// attest, enroll, test; retire; report), two-person confirmation of every
// step that changes state, and a hash-chained journal written before and
// after each step so that an interrupted ceremony resumes at the right
// place and never repeats a destructive step without checking reality
// first. The TUI and the headless rehearsal drive it through officer.Prompter.
package ceremony

// Package ceremony is the key ceremony as a state machine with no UI:
// preflight; per key insert, reset, PIN, create, attest, enroll and test;
// retire; report. Every step that changes state is confirmed by both
// officers and written to a hash-chained journal before and after it runs,
// so an interrupted ceremony resumes at the right place and never repeats a
// destructive step without checking reality first. The TUI and the
// rehearsal drive it through officer.Prompter.
package ceremony

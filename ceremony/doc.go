// Package ceremony is the key ceremony as a state machine with no UI, one
// file a phase: preflight; per key insert, reset and PIN (keyprep.go);
// create, attest, enroll and test (create.go); retire; report. Every step
// that changes state is confirmed by both officers and written to a
// hash-chained journal (journal.go) before and after it runs, so an
// interrupted ceremony resumes at the right place and never repeats a
// destructive step without checking reality first. The sitting and the
// rehearsal drive it through officer.Prompter.
package ceremony

// Package testenv holds the test helpers several packages share: where the
// real-device vectors are, swtpm, and the rule for external tools (CI must
// have them; elsewhere a missing tool skips its test loudly).
package testenv

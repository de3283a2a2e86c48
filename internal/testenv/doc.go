// Package testenv holds the test helpers several packages share: the shared
// vectors, external tools, swtpm.
//
// In full, it holds the test helpers several packages share: where the
// real-device vectors are, and the rule for external tools (CI must have
// them; elsewhere a missing tool skips its test loudly).
package testenv

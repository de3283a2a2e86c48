// Package history reads a folder as it comes out of the safe — the ceremony
// and health reports of one or several accounts — verifies every signature
// and chain link, and tells each account's timeline, its gaps, and what is due.
package history

// Package tui is the officers' terminal UI (bubbletea, bubbles, lipgloss):
// one screen per request (an instruction, a confirmation by a named officer,
// a masked PIN half entered twice), progress, "touch the key" while the key
// waits, Ctrl-C that asks before abandoning, and a final screen with the
// fingerprint for the envelope. It fits 80×24 and needs no mouse. It knows
// only the officer vocabulary: what runs behind a screen is the sitting's.
package tui

// Package tui is the officers' terminal UI (bubbletea): one screen per
// request, masked PIN halves, progress, and the fingerprint at the end.
//
// In full, it is the officers' terminal UI over the ceremony engine
// (github.com/charmbracelet/bubbletea, bubbles, lipgloss): one screen per
// request — an instruction in plain words, a confirmation by a named
// officer, a masked PIN half entered twice — a progress line, "touch the
// key" while the key waits, Ctrl-C that asks before abandoning (the journal
// stays resumable), and a final screen with the fingerprint for the
// envelope. It fits 80×24, needs no mouse, and degrades to plain text on a
// dumb terminal (lipgloss drops colours it cannot show).
package tui

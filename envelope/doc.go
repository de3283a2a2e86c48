// Package envelope makes a PIN that no one chose and nobody sees whole: it
// draws a numeric PIN from the OS CSPRNG, refuses trivial and banned ones,
// and renders each half on its own printed page for its own sealed envelope.
package envelope

package tui

import (
	"strings"
	"unicode/utf8"

	tea "github.com/charmbracelet/bubbletea"
)

// secretInput is a masked one-line input that keeps what is typed in a
// byte slice it can wipe. bubbles' textinput keeps its value in Go strings
// (immutable, copied on every key), which cannot be zeroed; a PIN half must
// not outlive its use, so it is held here instead.
type secretInput struct {
	buf []byte
}

// maxSecret bounds a half: a whole PIN is at most 63 bytes (CTAP 2.1 §6.5.5.5).
const maxSecret = 63

// update takes one key press.
func (s *secretInput) update(k tea.KeyMsg) {
	switch k.Type {
	case tea.KeyRunes:
		for _, r := range k.Runes {
			var b [utf8.UTFMax]byte
			n := utf8.EncodeRune(b[:], r)
			if len(s.buf)+n > maxSecret {
				return
			}
			s.buf = append(s.buf, b[:n]...)
			clear(b[:])
		}
	case tea.KeyBackspace:
		if len(s.buf) > 0 {
			_, n := utf8.DecodeLastRune(s.buf)
			clear(s.buf[len(s.buf)-n:])
			s.buf = s.buf[:len(s.buf)-n]
		}
	}
}

// take returns what was typed and empties the input; the caller owns (and
// zeroes) the slice.
func (s *secretInput) take() []byte {
	v := s.buf
	s.buf = nil
	return v
}

// wipe zeroes and empties the input.
func (s *secretInput) wipe() {
	clear(s.buf[:cap(s.buf)])
	s.buf = nil
}

// view shows one mask character per character typed.
func (s *secretInput) view() string {
	return "> " + strings.Repeat("•", utf8.RuneCount(s.buf))
}

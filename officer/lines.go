package officer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// Lines returns the Prompter of a command line without a screen:
// instructions are printed to out and waited for (Enter); confirmations are taken as given when
// yes is set (the --yes of the command line), else the officer types y; PIN
// halves are read from in without echo on a terminal, else one per line,
// each twice.
func Lines(in io.Reader, out io.Writer, yes bool) Prompter {
	return linePrompter{pins: newPINEntry(in, out), out: out, yes: yes}
}

// linePrompter is the Prompter Lines returns.
type linePrompter struct {
	pins *pinEntry
	out  io.Writer
	yes  bool // confirmations taken as given; otherwise the officer types y
}

// Instruct prints the instruction; unless confirmations are taken as
// given (--yes), it waits for the officers to press Enter once it is done.
func (l linePrompter) Instruct(_ context.Context, in Instruction) error {
	if l.yes {
		fmt.Fprintln(l.out, in.Text)
		return nil
	}
	fmt.Fprintf(l.out, "%s\nPress Enter when done: ", in.Text)
	line, err := l.pins.buf.ReadString('\n')
	if f, ok := l.pins.in.(*os.File); err != nil || !ok || !term.IsTerminal(int(f.Fd())) {
		fmt.Fprintln(l.out) // a terminal echoed the Enter; nothing else did
	}
	if err != nil && line == "" {
		return ErrAbandoned
	}
	return nil
}

func (l linePrompter) Confirm(_ context.Context, name, action string) error {
	if l.yes {
		fmt.Fprintf(l.out, "%s confirms (--yes): %s\n", name, action)
		return nil
	}
	fmt.Fprintf(l.out, "%s: confirm — %s [y/n]: ", name, action)
	line, err := l.pins.buf.ReadString('\n')
	if err != nil && line == "" {
		return ErrAbandoned
	}
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return ErrAbandoned
	}
	return nil
}

func (l linePrompter) PINHalf(_ context.Context, slot int, name string, _ bool) ([]byte, error) {
	return l.pins.half(slot, name)
}

func (l linePrompter) Touch(slot int)               { fmt.Fprintf(l.out, "Touch key %d now.\n", slot) }
func (l linePrompter) Progress(step, detail string) { fmt.Fprintf(l.out, "  %-14s %s\n", step, detail) }

// pinEntry reads split-knowledge PINs: officer A types half A, officer B
// half B, each twice, never echoed and never shown together. On a terminal
// it reads without echo; otherwise (automation, tests) one half per line of
// standard input — never from arguments or the environment.
type pinEntry struct {
	in  io.Reader
	out io.Writer
	buf *bufio.Reader
}

func newPINEntry(in io.Reader, out io.Writer) *pinEntry {
	return &pinEntry{in: in, out: out, buf: bufio.NewReader(in)}
}

func (p *pinEntry) readSecret(prompt string) ([]byte, error) {
	fmt.Fprint(p.out, prompt)
	if f, ok := p.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(p.out)
		return b, err
	}
	line, err := p.buf.ReadBytes('\n')
	if err != nil && (err != io.EOF || len(line) == 0) {
		clear(line)
		return nil, errors.New("no PIN half on standard input")
	}
	fmt.Fprintln(p.out)
	out := bytes.TrimRight(line, "\r\n")
	res := append([]byte(nil), out...)
	clear(line)
	return res, nil
}

// half reads one officer's half twice; while the two entries differ (or
// are empty) it asks again, a few times.
func (p *pinEntry) half(slot int, officer string) ([]byte, error) {
	for try := 0; try < 3; try++ {
		a, err := p.readSecret(fmt.Sprintf("Key %d — %s, type your half of the PIN: ", slot, officer))
		if err != nil {
			return nil, err
		}
		b, err := p.readSecret(fmt.Sprintf("Key %d — %s, type it again: ", slot, officer))
		if err != nil {
			clear(a)
			return nil, err
		}
		same := bytes.Equal(a, b) && len(a) > 0
		clear(b)
		if same {
			return a, nil
		}
		clear(a)
		fmt.Fprintf(p.out, "Key %d — %s: the two entries differ or are empty; type your half again.\n", slot, officer)
	}
	return nil, fmt.Errorf("key %d: %s's entries did not agree three times", slot, officer)
}

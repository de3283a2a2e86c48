package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/keyceremony/keyceremony/ctap"
)

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
		ctap.Zero(line)
		return nil, errors.New("no PIN half on standard input")
	}
	fmt.Fprintln(p.out)
	out := bytes.TrimRight(line, "\r\n")
	res := append([]byte(nil), out...)
	ctap.Zero(line)
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
			ctap.Zero(a)
			return nil, err
		}
		same := bytes.Equal(a, b) && len(a) > 0
		ctap.Zero(b)
		if same {
			return a, nil
		}
		ctap.Zero(a)
		fmt.Fprintf(p.out, "Key %d — %s: the two entries differ or are empty; type your half again.\n", slot, officer)
	}
	return nil, fmt.Errorf("key %d: %s's entries did not agree three times", slot, officer)
}

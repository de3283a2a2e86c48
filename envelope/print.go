package envelope

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Printer prints one half's page.
type Printer func(ctx context.Context, h Half) error

// Command prints through a print command that reads the PDF on its
// standard input (argv, e.g. ["lp"] or ["lp", "-d", "safe-room"]): the page
// goes straight to the spooler, never into a file of the tool's, and its
// bytes are zeroed once handed over.
func Command(argv []string) Printer {
	return func(ctx context.Context, h Half) error {
		if len(argv) == 0 {
			return errors.New("no print command")
		}
		pdf, err := page(h)
		if err != nil {
			return err
		}
		defer clear(pdf)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Stdin = bytes.NewReader(pdf)
		var errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &errOut, &errOut
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("print command %q: %w: %s", argv, err, bytes.TrimSpace(errOut.Bytes()))
		}
		return nil
	}
}

// Folder writes each page to dir as pin-half-key<slot>-<part>.pdf, one file
// per half. Rehearsal only: a real ceremony's PIN half is never written to
// a file, and Folder refuses one.
func Folder(dir string) Printer {
	return func(_ context.Context, h Half) error {
		if !h.Rehearsal {
			return errors.New("a real PIN half is printed, never written to a file: set print_command")
		}
		pdf, err := page(h)
		if err != nil {
			return err
		}
		defer clear(pdf)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, fmt.Sprintf("pin-half-key%d-%s.pdf", h.Slot, h.Part)), pdf, 0o600)
	}
}

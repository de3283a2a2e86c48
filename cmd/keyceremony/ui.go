package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/officer"
	"github.com/keyceremony/keyceremony/tui"
)

// isTerminal reports whether the officers sit at a terminal.
func isTerminal() bool {
	return term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd()))
}

// runTUI runs the engine behind the bubbletea UI. wrap lets a rehearsal
// act out the officers' physical steps after they press Enter.
// stopHint is shown under the reason when the engine stops (where the
// journal is and how to resume).
func runTUI(ctx context.Context, title string, steps int, stopHint string, wrap func(officer.Prompter) officer.Prompter,
	build func(officer.Prompter) (*ceremony.Engine, error), doneTitle func(*ceremony.Result) string) (*ceremony.Result, error) {
	var res *ceremony.Result
	err := tui.Run(ctx, title, steps, wrap, func(ctx context.Context, p officer.Prompter) (tui.DoneMsg, error) {
		engine, err := build(p)
		if err != nil {
			return tui.DoneMsg{}, err
		}
		if res, err = engine.Run(ctx); err != nil {
			return tui.DoneMsg{Err: err, Hint: stopHint}, err
		}
		return tui.DoneMsg{Title: doneTitle(res), Fingerprint: res.Fingerprint, Detail: "Report and signature in " + res.Dir}, nil
	})
	return res, err
}

// headlessNote explains why no TUI is shown.
func headlessNote(out io.Writer) {
	fmt.Fprintln(out, "(not a terminal: running headless with scripted officers; use a terminal for the TUI)")
}

// guard runs f and turns a panic into an error that says what happened,
// without a stack trace: no panic reaches an officer.
func guard[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error (%v): the step was stopped where it was; nothing recorded in the journal is lost", r)
		}
	}()
	return f()
}

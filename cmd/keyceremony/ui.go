package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"golang.org/x/term"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/tui"
)

// isTerminal reports whether the officers sit at a terminal.
func isTerminal() bool {
	return term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd()))
}

// runTUI runs the engine behind the bubbletea UI. wrap lets a rehearsal
// act out the officers' physical steps after they press Enter.
func runTUI(ctx context.Context, title string, steps int, wrap func(ceremony.Prompter) ceremony.Prompter,
	build func(ceremony.Prompter) (*ceremony.Engine, error), doneTitle func(*ceremony.Result) string) (*ceremony.Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prog := tea.NewProgram(tui.NewModel(title, steps))
	var p ceremony.Prompter = tui.Prompter{Program: prog}
	if wrap != nil {
		p = wrap(p)
	}
	engine, err := build(p)
	if err != nil {
		return nil, err
	}
	var (
		res    *ceremony.Result
		runErr error
	)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		res, runErr = engine.Run(ctx)
		msg := tui.DoneMsg{Err: runErr}
		if runErr == nil {
			msg.Title, msg.Fingerprint = doneTitle(res), res.Fingerprint
			msg.Detail = "Report and signature in " + res.Dir
		}
		prog.Send(msg)
	}()
	if _, err := prog.Run(); err != nil {
		cancel()
		<-finished
		return nil, fmt.Errorf("terminal UI: %w", err)
	}
	cancel() // the officers left the screen: stop the engine where it is
	<-finished
	if runErr == nil && res == nil {
		runErr = ceremony.ErrAbandoned
	}
	if errors.Is(runErr, context.Canceled) {
		runErr = ceremony.ErrAbandoned
	}
	return res, runErr
}

// headlessNote explains why no TUI is shown.
func headlessNote(out io.Writer) {
	fmt.Fprintln(out, "(not a terminal: running headless with scripted officers; use a terminal for the TUI)")
}

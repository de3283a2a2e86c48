package tui

import (
	"context"
	"errors"
	"fmt"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"golang.org/x/term"

	"github.com/keyceremony/keyceremony/officer"
)

// IsTerminal reports whether the officers sit at a terminal: standard
// input and output both are one.
func IsTerminal() bool {
	return term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd()))
}

// Run runs work behind the ceremony screen, asking the officers through
// it, and shows work's outcome until they leave the screen. steps sizes
// the progress bar (work's Progress calls); 0 shows none. wrap, when not
// nil, wraps the screen's Prompter (a rehearsal acts out the officers'
// physical steps with it). Leaving the screen before work is done cancels
// it and returns officer.ErrAbandoned; a panic in work is an error that
// says so, never a stack trace.
func Run(ctx context.Context, title string, steps int, wrap func(officer.Prompter) officer.Prompter,
	work func(context.Context, officer.Prompter) (DoneMsg, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prog := tea.NewProgram(newModel(title, steps))
	p := newPrompter(prog)
	if wrap != nil {
		p = wrap(p)
	}
	var runErr error
	completed := false
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var msg DoneMsg
		msg, runErr = guarded(ctx, p, work)
		if runErr != nil {
			msg.Err = runErr
		} else {
			completed = true
		}
		prog.Send(msg)
	}()
	if _, err := prog.Run(); err != nil {
		cancel()
		<-finished
		return fmt.Errorf("terminal UI: %w", err)
	}
	cancel() // the officers left the screen: stop the work where it is
	<-finished
	if runErr == nil && !completed || errors.Is(runErr, context.Canceled) {
		runErr = officer.ErrAbandoned
	}
	return runErr
}

// guarded runs work and turns a panic into an error, so that no stack
// trace reaches an officer.
func guarded(
	ctx context.Context,
	p officer.Prompter,
	work func(context.Context, officer.Prompter) (DoneMsg, error),
) (msg DoneMsg, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf(
				"internal error (%v): the step was stopped where it was; nothing recorded in the journal is lost",
				r,
			)
		}
	}()
	return work(ctx, p)
}

package tui

import (
	"context"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/officer"
)

// RunCeremony runs the engine build makes behind the ceremony screen.
// wrap lets a rehearsal act out the officers' physical steps after they
// press Enter; stopHint is shown under the reason when the engine stops
// (where the journal is and how to resume); doneTitle heads the screen of
// a finished ceremony.
func RunCeremony(ctx context.Context, title string, steps int, stopHint string, wrap func(officer.Prompter) officer.Prompter,
	build func(officer.Prompter) (*ceremony.Engine, error), doneTitle func(*ceremony.Result) string) (*ceremony.Result, error) {
	var res *ceremony.Result
	err := Run(ctx, title, steps, wrap, func(ctx context.Context, p officer.Prompter) (DoneMsg, error) {
		engine, err := build(p)
		if err != nil {
			return DoneMsg{}, err
		}
		if res, err = engine.Run(ctx); err != nil {
			return DoneMsg{Err: err, Hint: stopHint}, err
		}
		return DoneMsg{Title: doneTitle(res), Fingerprint: res.Fingerprint, Detail: "Report and signature in " + res.Dir}, nil
	})
	return res, err
}

package sitting

import (
	"context"
	"fmt"
	"strings"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/health"
	"github.com/keyceremony/keyceremony/officer"
	"github.com/keyceremony/keyceremony/tui"
)

// Screen is how one account's ceremony is shown to the officers.
type Screen struct {
	Title string // heads the screen
	// StopHint is shown under the reason when the engine stops: where the
	// journal is and how to resume (or, in a rehearsal, what to do instead).
	StopHint string
	// Wrap, when set, lets a rehearsal act out the officers' physical steps
	// after they press Enter.
	Wrap func(officer.Prompter) officer.Prompter
	// Done names what finished, heading the last screen: "Ceremony" or
	// "Rehearsal".
	Done string
}

// Run runs the ceremony cfg describes, journaled in j, behind the screen:
// the engine is made with the screen's officers and run with ctx.
func (sc Screen) Run(ctx context.Context, cfg ceremony.Config, j *ceremony.Journal, d fidokey.Devices,
	g ceremony.Graph) (*ceremony.Result, error) {
	var res *ceremony.Result
	err := tui.Run(
		ctx,
		sc.Title,
		cfg.StepCount(),
		sc.Wrap,
		func(ctx context.Context, p officer.Prompter) (tui.DoneMsg, error) {
			engine, err := ceremony.New(cfg, j, d, g, p)
			if err != nil {
				return tui.DoneMsg{}, err
			}
			if res, err = engine.Run(ctx); err != nil {
				return tui.DoneMsg{Err: err, Hint: sc.StopHint}, err
			}
			title := fmt.Sprintf(
				"%s complete: %d keys registered, %d retired.",
				sc.Done,
				len(res.Methods),
				len(res.Retired),
			)
			return tui.DoneMsg{
				Title:       title,
				Fingerprint: res.Fingerprint,
				Detail:      "Report and signature in " + res.Dir,
			}, nil
		},
	)
	return res, err
}

// Health runs the health check cfg describes behind the screen: the last
// screen counts the results and lists each check, and a check that did not
// pass with its detail.
func (sc Screen) Health(
	ctx context.Context,
	cfg health.Config,
	d fidokey.Devices,
	g health.Graph,
) (*health.Result, error) {
	var res *health.Result
	err := tui.Run(ctx, sc.Title, 0, sc.Wrap, func(ctx context.Context, p officer.Prompter) (tui.DoneMsg, error) {
		var err error
		if res, err = health.Run(ctx, cfg, d, g, p); err != nil {
			return tui.DoneMsg{Err: err, Hint: sc.StopHint}, err
		}
		return tui.DoneMsg{Title: fmt.Sprintf("Health check: %d pass, %d findings, %d could not check.",
			res.Count(health.Pass), res.Count(health.Finding), res.Count(health.CouldNot)),
			Fingerprint: res.Fingerprint, Detail: "Health report in " + res.Dir, Results: healthLines(res)}, nil
	})
	return res, err
}

// healthLines is one line per check for the health check's last screen:
// its result and name, and for a check that did not pass, its detail.
func healthLines(res *health.Result) []string {
	var out []string
	for _, c := range res.Checks {
		l := fmt.Sprintf("%-5s %s", c.Status, c.Name)
		if c.Status != health.Pass {
			l = fmt.Sprintf("%s %s: %s", strings.ToUpper(c.Status), c.Name, c.Detail)
		}
		out = append(out, l)
	}
	return out
}

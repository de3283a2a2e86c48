package rehearsal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/health"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/officer"
	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/sitting"
	"github.com/keyceremony/keyceremony/tui"
)

// ErrFindings is wrapped when a rehearsal's health check has findings (or
// checks that could not run): the command's exit code 1.
var ErrFindings = errors.New("the health check has findings")

// SittingOptions says what RunSitting rehearses.
type SittingOptions struct {
	Dir          string // the reports, journals and envelopes go here (default: a new temporary directory)
	Accounts     int    // break-glass accounts in the sitting, each with two virtual keys
	GeneratedPIN bool   // generated PIN halves, printed to Dir/envelopes/*.pdf
	Health       bool   // then the health check of every account
	// Headless: scripted officers even at a terminal (--yes). Without it a
	// terminal shows the officers' screen, and no terminal means scripted
	// officers, which the rehearsal says.
	Headless bool
	Tool     report.Tool
	// TenantPath loads the emulated tenant from a tenant file (Graph's
	// response shapes, e.g. from `keyceremony tenant export`); its first
	// user is the account rehearsed.
	TenantPath string
}

// RunSitting runs the whole ceremony engine on virtual keys (served over
// real CTAPHID), the local Graph emulator and a throw-away signing key,
// all in-process: preflight, per key reset / split PIN / credential /
// attestation / enrollment / test assertion, retirement of last year's
// key, and a signed rehearsal report per account (with a signed summary
// for several); with o.Health, the health check of each account follows.
func RunSitting(ctx context.Context, out io.Writer, o SittingOptions) error {
	terminal := tui.IsTerminal()
	useTUI := !o.Headless && terminal
	fmt.Fprintln(out, "REHEARSAL — virtual keys (simkey), local Graph emulator, test attestation root,")
	fmt.Fprintln(out, "throw-away signing key; nothing here touches a real key or tenant.")
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "keyceremony-rehearsal-")
		if err != nil {
			return err
		}
		o.Dir = d
	}
	env, err := SetupTenant(ctx, o.Dir, DefaultSimkeyConfig(), o.TenantPath)
	if err != nil {
		return err
	}
	if o.TenantPath != "" {
		fmt.Fprintf(
			out,
			"Tenant: %s (emulated; its FIDO2 key restrictions also admit the virtual keys, standing in for an allowed model)\n",
			o.TenantPath,
		)
	}
	defer env.Close()
	env.GeneratedPIN = o.GeneratedPIN
	if !o.Headless && !terminal {
		fmt.Fprintln(out, "(not a terminal: running headless with scripted officers; use a terminal for the TUI)")
	}
	scripted := NewPrompter(env.Devices, out)
	// Each account's folder is the sitting's out_dir rule (sitting.Run).
	accounts := []sitting.Account{{UPN: env.UPN}}
	for n := 2; n <= o.Accounts; n++ {
		accounts = append(accounts, sitting.Account{UPN: env.AddAccount(n)})
	}
	// A rehearsal's virtual keys and emulated tenant live in this process
	// only: a stopped rehearsal cannot be resumed, and its stop says what
	// to do instead of "resume" (issue 23, "Also found").
	notResumed := func(journal string) string {
		return "A rehearsal is not resumed: its virtual keys and emulated tenant lived only in that run. " +
			"Its journal is kept for reading: " + journal + ". Rehearse again from the start: keyceremony rehearse --out NEW_DIR"
	}
	keysOf := map[string][]*simkey.Key{} // each account's own virtual keys, for its health check
	_, err = sitting.Run(
		ctx,
		out,
		accounts,
		o.Dir,
		env.Signer,
		func(ctx context.Context, a sitting.Account, others []ceremony.KnownKey) (*ceremony.Result, error) {
			if len(others) > 0 { // the next account's own keys
				if err := env.NextKeys(ctx); err != nil {
					return nil, err
				}
			}
			if err := os.MkdirAll(a.OutDir, 0o700); err != nil {
				return nil, err
			}
			j, err := ceremony.CreateJournal(a.JournalPath(), time.Now)
			if errors.Is(err, fs.ErrExist) {
				return nil, fmt.Errorf(
					"%s already holds a rehearsal that stopped. %s",
					a.OutDir,
					notResumed(a.JournalPath()),
				)
			} else if err != nil {
				return nil, err
			}
			defer j.Close()
			cfg := env.CeremonyConfig(a.OutDir, o.Tool)
			cfg.Account, cfg.OtherKeys = a.UPN, others
			var res *ceremony.Result
			if useTUI {
				screen := sitting.Screen{
					Title:    "keyceremony REHEARSAL — " + a.UPN + a.Among + " (virtual keys, emulated Entra)",
					StopHint: notResumed(a.JournalPath()),
					Wrap:     acting(env),
					Done:     "Rehearsal",
				}
				res, err = screen.Run(ctx, cfg, j, env.Devices, env.Tenant.Client)
			} else {
				var eng *ceremony.Engine
				if eng, err = ceremony.New(cfg, j, env.Devices, env.Tenant.Client, scripted); err == nil {
					res, err = eng.Run(ctx)
				}
			}
			if err != nil {
				return nil, fmt.Errorf("%w\n%s", err, notResumed(a.JournalPath()))
			}
			if len(accounts) > 1 {
				fmt.Fprintf(out, "%s:\n", a.UPN)
			}
			fmt.Fprintf(
				out,
				"Rehearsal complete: %d keys registered, %d retired. Signed rehearsal report in %s\n",
				len(res.Methods),
				len(res.Retired),
				res.Dir,
			)
			fmt.Fprintf(
				out,
				"Signing key fingerprint (in a real ceremony, copy it onto the envelope): %s\n",
				res.Fingerprint,
			)
			fmt.Fprintf(
				out,
				"Check it: keyceremony report verify --rehearsal %s\n",
				filepath.Join(res.Dir, report.FileReport),
			)
			keysOf[a.UPN] = []*simkey.Key{env.Devices.Key(1), env.Devices.Key(2)}
			return res, nil
		},
	)
	if err != nil {
		return err
	}
	if !o.Health {
		return nil
	}
	// The health check of every account of the sitting, each with its own keys.
	var failed error
	for _, a := range accounts {
		keys, ok := keysOf[a.UPN]
		if !ok {
			return fmt.Errorf("%s: its rehearsal ran before this one; rehearse health needs a new --out folder", a.UPN)
		}
		for slot, k := range keys {
			env.Devices.Swap(slot+1, k)
		}
		var screen string // the officers' screen, titled; "" for scripted officers
		if useTUI {
			screen = "keyceremony REHEARSAL health check — " + a.UPN + a.Among
		}
		if err := rehearseHealth(ctx, env, scripted, screen, a.OutDir, o.Tool, out); err != nil {
			if !errors.Is(err, ErrFindings) {
				return err
			}
			failed = err
		}
	}
	return failed
}

// rehearseHealth checks the keys and the emulated account against the
// rehearsal ceremony's report: behind the officers' screen titled screen,
// or, when that is "", with the scripted officers p.
func rehearseHealth(
	ctx context.Context,
	env *Env,
	p officer.Prompter,
	screen, ceremonyDir string,
	tool report.Tool,
	out io.Writer,
) error {
	last, err := os.ReadFile(filepath.Join(ceremonyDir, report.FileReport))
	if err != nil {
		return err
	}
	sig, err := os.ReadFile(filepath.Join(ceremonyDir, report.FileSignature))
	if err != nil {
		return err
	}
	pub, err := env.Signer.SSHPublicKey()
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	var rep struct {
		Account report.Account `json:"account"`
	}
	if err := json.Unmarshal(last, &rep); err != nil {
		return fmt.Errorf("the rehearsal report: %w", err)
	}
	audit, stop, err := monitoring(ctx, rep.Account)
	if err != nil {
		return err
	}
	defer stop()
	cfg := health.Config{LastReport: last, LastSignature: sig, PublicKey: pub, Rehearsal: true, Verifier: env.Verifier,
		OfficerA: OfficerA, OfficerB: OfficerB, Signer: env.Signer, Tool: tool, Hostname: host,
		OutDir: filepath.Join(ceremonyDir, "health"), Monitoring: audit}
	var res *health.Result
	if screen == "" {
		fmt.Fprintln(out, "HEALTH CHECK (rehearsal)")
		res, err = health.Run(ctx, cfg, env.Devices, env.Tenant.Client, p)
	} else {
		res, err = sitting.Screen{Title: screen, Wrap: acting(env)}.Health(ctx, cfg, env.Devices, env.Tenant.Client)
	}
	if err != nil {
		return err
	}
	if err := res.WriteText(out); err != nil {
		return err
	}
	if n := res.Count(health.Finding) + res.Count(health.CouldNot); n > 0 {
		return fmt.Errorf(
			"%w: %d findings, %d checks could not run",
			ErrFindings,
			res.Count(health.Finding),
			res.Count(health.CouldNot),
		)
	}
	return nil
}

// acting performs, in a rehearsal, the physical steps the officers
// acknowledged on screen (plugging and re-plugging the virtual keys).
func acting(env *Env) func(officer.Prompter) officer.Prompter {
	return func(p officer.Prompter) officer.Prompter { return actingOfficers{Prompter: p, devices: env.Devices} }
}

type actingOfficers struct {
	officer.Prompter
	devices *Devices
}

// Instruct implements officer.Prompter.
func (a actingOfficers) Instruct(ctx context.Context, in officer.Instruction) error {
	if err := a.Prompter.Instruct(ctx, in); err != nil {
		return err
	}
	switch in.Kind {
	case officer.Insert, officer.RemoveOthers:
		return a.devices.Plug(in.Slot) // plugs in.Slot only
	case officer.Replug:
		return a.devices.Replug(in.Slot)
	}
	return nil
}

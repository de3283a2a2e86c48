package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/health"
	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/officer"
	"github.com/keyceremony/keyceremony/report"
)

// cmdRehearse runs the whole ceremony engine on two virtual keys (served
// over real CTAPHID), the local Graph emulator and a throw-away signing key,
// all in-process: preflight, per key reset / split PIN / credential /
// attestation / enrollment / test assertion, retirement of last year's key,
// and a signed rehearsal report. `rehearse health` then runs the health
// check against that report.
func cmdRehearse(ctx context.Context, args []string, out io.Writer) error {
	withHealth := len(args) > 0 && args[0] == "health"
	if withHealth {
		args = args[1:]
	}
	fs := newFlags("rehearse", "rehearse [health] [--yes] [--out DIR] [--generated-pin] [--accounts N]")
	outDir := fs.String("out", "", "write the signed rehearsal report and journal here (default: a new temporary directory)")
	yes := fs.Bool("yes", false, "run headless with scripted officers (default when not on a terminal)")
	nAccounts := fs.Int("accounts", 1, "rehearse a sitting of N break-glass accounts, each with its own two keys (Microsoft advises at least two accounts)")
	generated := fs.Bool("generated-pin", false, "generate the PINs and print each half to its own page (here: OUT/envelopes/*.pdf)")
	if pos, err := fs.parse(args, out); err != nil {
		return err
	} else if len(pos) > 0 {
		return fs.usageError("unexpected argument %q", pos[0])
	}
	if *nAccounts < 1 || *nAccounts > 9 {
		return fs.usageError("--accounts is 1 to 9, not %d", *nAccounts)
	}
	if withHealth && !*yes && isTerminal() {
		// Refused before anything starts: the health check has no TUI of
		// its own in a rehearsal yet.
		return usageError{errors.New("rehearse health runs headless: use `keyceremony rehearse health --yes`")}
	}
	dir := *outDir
	var err error
	if dir == "" {
		if dir, err = os.MkdirTemp("", "keyceremony-rehearsal-"); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "REHEARSAL — virtual keys (simkey), local Graph emulator, test attestation root,")
	fmt.Fprintln(out, "throw-away signing key; nothing here touches a real key or tenant.")
	env, err := rehearsal.Setup(ctx, dir, rehearsal.DefaultSimkeyConfig())
	if err != nil {
		return err
	}
	defer env.Close()
	env.GeneratedPIN = *generated
	tool := report.ToolInfo(version, revision)
	useTUI := !*yes && isTerminal()
	if !*yes && !useTUI {
		headlessNote(out)
	}
	scripted := rehearsal.NewPrompter(env.Devices, out)
	accounts := []ceremony.SittingAccount{{UPN: env.UPN, OutDir: dir}}
	for n := 2; n <= *nAccounts; n++ {
		accounts = append(accounts, ceremony.SittingAccount{UPN: env.AddAccount(n)})
	}
	if len(accounts) > 1 {
		for i := range accounts {
			accounts[i].OutDir = filepath.Join(dir, accounts[i].UPN)
		}
	}
	keysOf := map[string][]*simkey.Key{} // each account's own virtual keys, for its health check
	summary, err := ceremony.RunSitting(ctx, out, accounts, dir, env.Signer, func(ctx context.Context, a ceremony.SittingAccount, others []ceremony.KnownKey) (*ceremony.Result, error) {
		if len(others) > 0 { // the next account's own keys
			if err := env.NextKeys(ctx); err != nil {
				return nil, err
			}
		}
		if err := os.MkdirAll(a.OutDir, 0o700); err != nil {
			return nil, err
		}
		j, err := ceremony.CreateJournal(a.JournalPath(), time.Now)
		if err != nil {
			return nil, err
		}
		defer j.Close()
		cfg := env.CeremonyConfig(a.OutDir, tool)
		cfg.Account, cfg.OtherKeys = a.UPN, others
		var res *ceremony.Result
		if useTUI {
			res, err = runTUI(ctx, "keyceremony REHEARSAL — "+a.UPN+ofSitting(accounts, a)+" (virtual keys, emulated Entra)", cfg.StepCount(),
				"The rehearsal journal is kept: "+a.JournalPath(), acting(env),
				func(p officer.Prompter) (*ceremony.Engine, error) {
					return ceremony.New(cfg, j, env.Devices, env.Tenant.Client, p)
				},
				func(r *ceremony.Result) string {
					return fmt.Sprintf("Rehearsal complete: %d keys registered, %d retired.", len(r.Methods), len(r.Retired))
				})
		} else {
			var eng *ceremony.Engine
			if eng, err = ceremony.New(cfg, j, env.Devices, env.Tenant.Client, scripted); err == nil {
				res, err = eng.Run(ctx)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%w (journal: %s)", err, a.JournalPath())
		}
		if len(accounts) > 1 {
			fmt.Fprintf(out, "%s:\n", a.UPN)
		}
		fmt.Fprintf(out, "Rehearsal complete: %d keys registered, %d retired. Signed rehearsal report in %s\n", len(res.Methods), len(res.Retired), res.Dir)
		fmt.Fprintf(out, "Signing key fingerprint (in a real ceremony, copy it onto the envelope): %s\n", res.Fingerprint)
		fmt.Fprintf(out, "Check it: keyceremony report verify --rehearsal %s\n", filepath.Join(res.Dir, report.FileReport))
		keysOf[a.UPN] = []*simkey.Key{env.Devices.Key(1), env.Devices.Key(2)}
		return res, nil
	})
	if err != nil {
		return err
	}
	if summary != "" {
		fmt.Fprintf(out, "Summary of the sitting (every account's key fingerprints, signed): %s\n", summary)
	}
	if !withHealth {
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
		if err := rehearseHealth(ctx, env, scripted, a.OutDir, tool, out); err != nil {
			var finding findingError
			if !errors.As(err, &finding) {
				return err
			}
			failed = err
		}
	}
	return failed
}

// rehearseHealth checks the keys and the emulated account against the
// rehearsal ceremony's report.
func rehearseHealth(ctx context.Context, env *rehearsal.Env, p officer.Prompter, ceremonyDir string, tool report.Tool, out io.Writer) error {
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
	fmt.Fprintln(out, "HEALTH CHECK (rehearsal)")
	res, err := health.Run(ctx, health.Config{LastReport: last, LastSignature: sig, PublicKey: pub, Rehearsal: true, Verifier: env.Verifier,
		OfficerA: rehearsal.OfficerA, OfficerB: rehearsal.OfficerB, Signer: env.Signer, Tool: tool, Hostname: host,
		OutDir: filepath.Join(ceremonyDir, "health")}, env.Devices, env.Tenant.Client, p)
	if err != nil {
		return err
	}
	return printHealth(out, res)
}

// printHealth lists the checks; findings give exit code 1.
func printHealth(out io.Writer, res *health.Result) error {
	for _, c := range res.Checks {
		fmt.Fprintf(out, "  %-16s %-24s %s\n", c.Status, c.Name, c.Detail)
	}
	fmt.Fprintf(out, "Signed health report in %s (key %s)\n", res.Dir, res.Fingerprint)
	if n := res.Count(health.Finding) + res.Count(health.CouldNot); n > 0 {
		return findingError{fmt.Sprintf("%d findings, %d checks could not run", res.Count(health.Finding), res.Count(health.CouldNot))}
	}
	fmt.Fprintln(out, "All checks passed.")
	return nil
}

// acting performs, in a rehearsal, the physical steps the officers
// acknowledged on screen (plugging and re-plugging the virtual keys).
func acting(env *rehearsal.Env) func(officer.Prompter) officer.Prompter {
	return func(p officer.Prompter) officer.Prompter { return actingOfficers{Prompter: p, devices: env.Devices} }
}

type actingOfficers struct {
	officer.Prompter
	devices *rehearsal.Devices
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

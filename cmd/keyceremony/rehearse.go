package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/ceremony/rehearsal"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/enroll/emulated"
	"github.com/keyceremony/keyceremony/enroll/graphemu"
	"github.com/keyceremony/keyceremony/report"
)

// Rehearsal identities: nothing here names a real tenant or person.
const (
	rehearsalOfficerA = "Rehearsal Officer A"
	rehearsalOfficerB = "Rehearsal Officer B"
)

// cmdRehearse runs the whole ceremony engine on two virtual keys (served
// over real CTAPHID), the local Graph emulator and a throw-away signing key,
// all in-process: preflight, per key reset / split PIN / credential /
// attestation / enrollment / test assertion, retirement of last year's key,
// and a signed rehearsal report. Headless, with scripted officers.
func cmdRehearse(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("rehearse", flag.ContinueOnError)
	outDir := fs.String("out", "", "write the signed rehearsal report and journal here (default: a new temporary directory)")
	yes := fs.Bool("yes", false, "run headless with scripted officers (default when not on a terminal)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	dir := *outDir
	var err error
	if dir == "" {
		if dir, err = os.MkdirTemp("", "keyceremony-rehearsal-"); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "emulator"), 0o700); err != nil {
		return err
	}
	fmt.Fprintln(out, "REHEARSAL — virtual keys (simkey), local Graph emulator, test attestation root,")
	fmt.Fprintln(out, "throw-away signing key; nothing here touches a real key or tenant.")
	ten, err := emulated.Start(emulated.Options{Dir: filepath.Join(dir, "emulator")})
	if err != nil {
		return err
	}
	defer ten.Close()
	st := ten.Emu.Snapshot()
	user := st.Users[0]
	// Last year's key, for the retirement step.
	ten.Emu.Update(func(s *graphemu.State) {
		s.Methods[user.ID] = append(s.Methods[user.ID], &graphemu.Method{ID: "previous-key-1", DisplayName: "Break glass key 1 (last year)",
			AAGUID: "2fc0579f-8113-47ea-b116-bb5a8db9202a", CreatedDateTime: time.Now().AddDate(-1, 0, 0).UTC(), AttestationLevel: "attested", CredentialID: "cHJldmlvdXM"})
	})
	devices, err := rehearsal.NewDevices(2, rehearsal.DefaultSimkeyConfig())
	if err != nil {
		return err
	}
	// Last year's keys come out of the safe with a PIN and a credential.
	for slot := 1; slot <= 2; slot++ {
		if err := devices.Plug(slot); err != nil {
			return err
		}
		old := make([]byte, 8)
		rand.Read(old)
		for i := range old {
			old[i] = '0' + old[i]%10
		}
		err := ctap.NewClient(devices.Key(slot), ctap.Options{}).SetPIN(ctx, old)
		ctap.Zero(old)
		if err != nil {
			return err
		}
		devices.Key(slot).Unplug()
	}
	verifier, err := loadVerifier("", "", true)
	if err != nil {
		return err
	}
	signer, err := report.NewRehearsalSigner()
	if err != nil {
		return err
	}
	journalPath := filepath.Join(dir, "journal.jsonl")
	journal, err := ceremony.CreateJournal(journalPath, time.Now)
	if err != nil {
		return err
	}
	defer journal.Close()
	host, _ := os.Hostname()
	build := func(p ceremony.Prompter) (*ceremony.Engine, error) {
		return ceremony.New(ceremony.Config{
			Account: user.UserPrincipalName, TenantID: st.TenantID, Domain: st.Domain,
			OfficerA: rehearsalOfficerA, OfficerB: rehearsalOfficerB, Keys: 2, Reset: true, Retire: true,
			Verifier: verifier, Rehearsal: true, Signer: signer, Tool: report.ToolInfo(version), Hostname: host, OutDir: dir,
		}, journal, devices, ten.Client, p)
	}
	var res *ceremony.Result
	if !*yes && isTerminal() {
		res, err = runTUI(ctx, "keyceremony REHEARSAL — "+user.UserPrincipalName+" (virtual keys, emulated Entra)", 16,
			func(p ceremony.Prompter) ceremony.Prompter { return actingOfficers{Prompter: p, devices: devices} }, build,
			func(r *ceremony.Result) string {
				return fmt.Sprintf("Rehearsal complete: %d keys registered, %d retired.", len(r.Methods), len(r.Retired))
			})
	} else {
		if !*yes {
			headlessNote(out)
		}
		engine, err2 := build(rehearsal.NewPrompter(devices, out))
		if err2 != nil {
			return err2
		}
		res, err = engine.Run(ctx)
	}
	if err != nil {
		return fmt.Errorf("%w (journal: %s)", err, journalPath)
	}
	fmt.Fprintf(out, "Rehearsal complete: %d keys registered, %d retired. Signed rehearsal report in %s\n", len(res.Methods), len(res.Retired), res.Dir)
	fmt.Fprintf(out, "Signing key fingerprint (in a real ceremony, copy it onto the envelope): %s\n", res.Fingerprint)
	fmt.Fprintf(out, "Check it: keyceremony report verify --rehearsal %s\n", filepath.Join(res.Dir, report.FileReport))
	return nil
}

// actingOfficers performs, in a rehearsal, the physical steps the officers
// acknowledged on screen (plugging and re-plugging the virtual keys).
type actingOfficers struct {
	ceremony.Prompter
	devices *rehearsal.Devices
}

// Instruct implements ceremony.Prompter.
func (a actingOfficers) Instruct(ctx context.Context, in ceremony.Instruction) error {
	if err := a.Prompter.Instruct(ctx, in); err != nil {
		return err
	}
	switch in.Kind {
	case ceremony.InstructInsert:
		return a.devices.Plug(in.Slot)
	case ceremony.InstructReplug:
		return a.devices.Replug(in.Slot)
	}
	return nil
}

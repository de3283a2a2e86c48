package rehearsal

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/envelope"
	"github.com/keyceremony/keyceremony/internal/sim/emulated"
	"github.com/keyceremony/keyceremony/internal/sim/graphemu"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/internal/sim/testca"
	"github.com/keyceremony/keyceremony/officer"
	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/workstation"
)

// Rehearsal officers: nothing here names a real person.
const (
	OfficerA = "Rehearsal Officer A"
	OfficerB = "Rehearsal Officer B"
)

// Env is a rehearsal world: an emulated tenant whose break-glass account
// still has last year's key, two virtual keys that come out of the safe
// with an old PIN, and a throw-away signing key.
type Env struct {
	Dir      string
	Tenant   *emulated.Tenant
	Devices  *Devices
	Signer   workstation.Signer
	Verifier *attest.Verifier
	UserID   string
	UPN      string
	// GeneratedPIN: the rehearsal ceremony generates the PINs and "prints"
	// each half to its own PDF under the report folder's envelopes/.
	GeneratedPIN bool

	keyCfg simkey.Config
}

// Setup builds the rehearsal world under dir.
func Setup(ctx context.Context, dir string, keyCfg simkey.Config) (*Env, error) {
	return SetupTenant(ctx, dir, keyCfg, "")
}

// SetupTenant builds the rehearsal world under dir, its tenant loaded from
// tenantPath (a tenant file, e.g. `keyceremony tenant export`) when given:
// its first user is the break-glass account, and the virtual keys stand in
// for a model its FIDO2 key restrictions allow.
func SetupTenant(ctx context.Context, dir string, keyCfg simkey.Config, tenantPath string) (*Env, error) {
	if err := os.MkdirAll(filepath.Join(dir, "emulator"), 0o700); err != nil {
		return nil, err
	}
	ten, err := emulated.Start(
		emulated.Options{Dir: filepath.Join(dir, "emulator"), Emulator: graphemu.Config{TenantPath: tenantPath}},
	)
	if err != nil {
		return nil, err
	}
	user := ten.Emu.Snapshot().Users[0]
	ten.Emu.Update(func(s *graphemu.State) {
		if tenantPath != "" {
			standIn(&s.FIDO2)
		}
		if len(s.Methods[user.ID]) > 0 {
			return // the loaded tenant's account has its keys already
		}
		s.Methods[user.ID] = append(
			s.Methods[user.ID],
			&graphemu.Method{ID: "previous-key-1", DisplayName: "Break glass key 1 (last year)",
				AAGUID: "2fc0579f-8113-47ea-b116-bb5a8db9202a", CreatedDateTime: time.Now().AddDate(-1, 0, 0).UTC(), AttestationLevel: "attested", CredentialID: "cHJldmlvdXM"},
		)
	})
	devs, err := NewDevices(2, keyCfg)
	if err != nil {
		ten.Close()
		return nil, err
	}
	if err := outOfTheSafe(ctx, devs); err != nil {
		ten.Close()
		return nil, err
	}
	pol, err := attest.LoadPolicy("")
	if err != nil {
		ten.Close()
		return nil, err
	}
	signer, err := workstation.NewRehearsal()
	if err != nil {
		ten.Close()
		return nil, err
	}
	return &Env{Dir: dir, Tenant: ten, Devices: devs, Signer: signer, Verifier: Verifier(pol),
		UserID: user.ID, UPN: user.UserPrincipalName, keyCfg: keyCfg}, nil
}

// standIn lets a loaded tenant's FIDO2 key restrictions (tenant-wide and
// each passkey profile's allow list) admit the virtual keys, which stand in
// for the tenant's allowed models: the rehearsal is of the ceremony and the
// audit, not of the key model.
func standIn(p *graphemu.FIDO2Policy) {
	simkeyAAGUID := testca.AAGUIDString()
	if p.EnforcementType == "allow" && !slices.Contains(p.AAGUIDs, simkeyAAGUID) {
		p.AAGUIDs = append(p.AAGUIDs, simkeyAAGUID)
	}
	for i := range p.PasskeyProfiles {
		pp := &p.PasskeyProfiles[i]
		if pp.EnforcementType == "allow" && !slices.Contains(pp.AAGUIDs, simkeyAAGUID) {
			pp.AAGUIDs = append(pp.AAGUIDs, simkeyAAGUID)
		}
	}
}

// outOfTheSafe gives each key an old PIN nobody here knows, as last
// year's keys come out of the safe, and leaves them unplugged.
func outOfTheSafe(ctx context.Context, devs *Devices) error {
	for slot := 1; slot <= len(devs.keys); slot++ {
		if err := devs.Plug(slot); err != nil {
			return err
		}
		old := make([]byte, 8)
		rand.Read(old)
		for i := range old {
			old[i] = '0' + old[i]%10
		}
		err := ctap.NewClient(devs.Key(slot), ctap.Options{}).SetPIN(ctx, old)
		clear(old)
		if err != nil {
			return err
		}
		devs.Key(slot).Unplug()
	}
	return nil
}

// AddAccount adds the n-th break-glass account (n ≥ 2) to the emulated
// tenant, set up as well as the first, and returns its UPN.
func (e *Env) AddAccount(n int) string { return e.Tenant.AddAccount(n) }

// NextKeys puts two other virtual keys in the slots, out of the safe with
// an old PIN: the keys of the next account of a sitting.
func (e *Env) NextKeys(ctx context.Context) error {
	devs, err := NewDevices(len(e.Devices.keys), e.keyCfg)
	if err != nil {
		return err
	}
	if err := outOfTheSafe(ctx, devs); err != nil {
		return err
	}
	for slot := 1; slot <= len(devs.keys); slot++ {
		e.Devices.Swap(slot, devs.Key(slot))
	}
	return nil
}

// Verifier returns a rehearsal's attestation verifier under pol: it trusts
// simkey's TEST root and allows simkey's model, which a real ceremony's
// verifier never does.
func Verifier(pol *attest.Policy) *attest.Verifier {
	vf := &attest.Verifier{Policy: pol, Rehearsal: true,
		RehearsalModel: &attest.AllowedModel{AAGUID: testca.AAGUIDString(), Name: testca.ModelName}}
	if root, err := testca.Root(); err == nil { // embedded: tested to parse
		vf.RehearsalRoots = []*x509.Certificate{root}
	}
	return vf
}

// Close stops the emulator.
func (e *Env) Close() error { return e.Tenant.Close() }

// CeremonyConfig is the rehearsal ceremony's configuration, writing into outDir.
func (e *Env) CeremonyConfig(outDir string, tool report.Tool) ceremony.Config {
	host, _ := os.Hostname()
	st := e.Tenant.Emu.Snapshot()
	cfg := ceremony.Config{
		Account:   e.UPN,
		TenantID:  st.TenantID,
		Domain:    st.Domain,
		OfficerA:  OfficerA,
		OfficerB:  OfficerB,
		Keys:      2,
		Reset:     true,
		Retire:    true,
		Verifier:  e.Verifier,
		Rehearsal: true,
		Signer:    e.Signer,
		Tool:      tool,
		Hostname:  host,
		OutDir:    outDir,
	}
	// The emulator is no Microsoft cloud: the officers see where sign-in
	// and Graph go, and the report records it (issue 23 §3).
	url := e.Tenant.Emu.URL()
	cfg.Endpoints = fmt.Sprintf("sign-in %s/, Graph %s, trusting only the emulator's CA", url, url)
	cfg.Deviations = append(cfg.Deviations,
		"sign-in and Graph are NOT a Microsoft cloud's (the local Graph emulator, a rehearsal): "+cfg.Endpoints)
	if e.GeneratedPIN {
		cfg.GeneratedPIN, cfg.PrintHalf = true, envelope.Folder(filepath.Join(outDir, "envelopes"))
	}
	return cfg
}

// RunCeremony runs the headless rehearsal ceremony with p (a Prompter of
// these devices), journal in dir/journal.jsonl and report in outDir.
func (e *Env) RunCeremony(
	ctx context.Context,
	p officer.Prompter,
	outDir string,
	tool report.Tool,
) (*ceremony.Result, error) {
	j, err := ceremony.CreateJournal(filepath.Join(e.Dir, "journal.jsonl"), time.Now)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	eng, err := ceremony.New(e.CeremonyConfig(outDir, tool), j, e.Devices, e.Tenant.Client, p)
	if err != nil {
		return nil, err
	}
	return eng.Run(ctx)
}

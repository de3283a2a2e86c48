package ceremony

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/envelope"
	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/internal/keyname"
	"github.com/keyceremony/keyceremony/officer"
	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/workstation"
)

// Graph is what the ceremony needs from Entra ID (*enroll.Client).
type Graph interface {
	GetUser(ctx context.Context, upnOrID string) (*enroll.User, error)
	CreationOptions(ctx context.Context, userID string, timeoutMinutes int) (*enroll.CreationOptions, error)
	Register(ctx context.Context, userID, displayName string, cred enroll.Credential) (*enroll.Method, error)
	ListFIDO2(ctx context.Context, userID string) ([]enroll.Method, error)
	GetFIDO2(ctx context.Context, userID, methodID string) (*enroll.Method, error)
	DeleteFIDO2(ctx context.Context, userID, methodID string) error
}

// Config describes one ceremony.
type Config struct {
	Account  string // UPN or object ID of the break-glass account
	TenantID string
	Domain   string
	OfficerA string
	OfficerB string
	Witness  string
	Keys     int  // how many keys: at least 1 (the config resolves its default)
	Reset    bool // reset each key first (always on rotation)
	// MinPINLength, when set, is applied with authenticatorConfig where the
	// key supports it.
	MinPINLength int
	// GeneratedPIN: instead of each officer typing a half, the tool draws
	// the PIN (envelope.Generate) and prints each half on its own page
	// through PrintHalf, for each officer's sealed envelope.
	GeneratedPIN bool
	PrintHalf    func(ctx context.Context, h envelope.Half) error
	// OtherKeys are the keys already provisioned for other accounts in this
	// sitting. A key inserted here that holds one of their credentials (or
	// the credential of another slot of this ceremony) is refused before
	// anything is done to it: resetting it would silently break the
	// other account's enrolled key.
	OtherKeys []KnownKey
	Retire    bool // delete the account's other FIDO2 methods at the end
	Verifier  *attest.Verifier
	// DisplayName names key n in Entra; default: the attestation policy's
	// display_name_pattern, or keyname.Default ("BG1 key 1 2026 YubiKey 5").
	DisplayName func(slot int, model string, date time.Time) string
	// Sitting is the account's place (1-based; 0 is 1) in the sitting: the
	// {account} of key names.
	Sitting   int
	Rehearsal bool
	Signer    workstation.Signer
	Tool      report.Tool
	Hostname  string
	OutDir    string // report files
	Previous  []byte // the account's previous report.json, for the chain
	// Deviations known before the start (e.g. the CTAP backend's limits,
	// endpoints that are no Microsoft cloud's) are shown to the officers
	// before they confirm the start, and go into the report as they are.
	Deviations []string
	// Endpoints says where sign-in and Graph go ("sign-in https://…,
	// Graph https://…"), shown to the officers before they confirm the start.
	Endpoints string
	// PostureFindings are the account's break-glass posture findings the
	// preflight audit found (health.AuditPosture): shown to the officers
	// before they confirm the start, and kept in the report's findings.
	PostureFindings []string
	Now             func() time.Time
}

// KnownKey is a credential already on a key of this sitting.
type KnownKey struct {
	Label        string // what the officers are told, e.g. "key 1 of breakglass1@…"
	CredentialID []byte
}

// Engine runs one ceremony.
type Engine struct {
	cfg     Config
	devices fidokey.Devices
	graph   Graph
	prompt  officer.Prompter
	journal *Journal
	user    *enroll.User
	started time.Time
	// entra predicts whether Entra registers a key model for the account
	// (its passkey policy); nil when it could not be read.
	entra func(aaguid string) (bool, string)
}

// policyReader is the part of *enroll.Client that reads the passkey policy
// and the account's groups, to predict Entra's answer before any touch.
type policyReader interface {
	FIDO2MethodPolicy(ctx context.Context) (*enroll.FIDO2Policy, error)
	GroupsOf(ctx context.Context, userID string) ([]string, error)
}

// New prepares a ceremony with a journal (new, or opened for a resume).
func New(cfg Config, j *Journal, d fidokey.Devices, g Graph, p officer.Prompter) (*Engine, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sitting == 0 {
		cfg.Sitting = 1
	}
	if cfg.DisplayName == nil && cfg.Verifier != nil {
		pattern, sitting := cfg.Verifier.Policy.DisplayNamePattern, cfg.Sitting
		cfg.DisplayName = func(slot int, model string, date time.Time) string {
			return keyname.Render(pattern, sitting, slot, model, date)
		}
	}
	if cfg.OfficerA == "" || cfg.OfficerB == "" || cfg.OfficerA == cfg.OfficerB {
		return nil, errors.New("a ceremony needs two different officers")
	}
	if cfg.Keys < 1 {
		// The default (2) is the config's, resolved once at load.
		return nil, fmt.Errorf("a ceremony needs at least one key (config keys), not %d", cfg.Keys)
	}
	if cfg.GeneratedPIN && cfg.PrintHalf == nil {
		return nil, errors.New("generated PIN halves need a printer for the envelopes")
	}
	if cfg.Verifier == nil || cfg.Account == "" || cfg.OutDir == "" {
		return nil, errors.New("a ceremony needs an account, an attestation policy and an output directory")
	}
	return &Engine{cfg: cfg, devices: d, graph: g, prompt: p, journal: j}, nil
}

// Result is what a finished ceremony produced.
type Result struct {
	Dir         string
	Fingerprint string
	Methods     []string
	Retired     []string
}

// Run runs (or resumes) the ceremony to its signed report.
func (e *Engine) Run(ctx context.Context) (*Result, error) {
	e.started = e.cfg.Now().UTC()
	if first := e.journal.recorded(); len(first) > 0 {
		e.started = first[0].Time
	}
	e.showRepairs()
	e.showDone()
	// Names Entra would refuse stop the ceremony here, before any key is
	// touched, not at the registration after the key was reset.
	if err := keyname.Check(e.cfg.Verifier.Policy.DisplayNamePattern, e.cfg.Sitting, e.cfg.Keys); err != nil {
		return nil, fmt.Errorf("preflight: the attestation policy's %w: nothing was touched", err)
	}
	if _, ok := e.journal.done("preflight"); !ok {
		if err := e.preflight(ctx); err != nil {
			return nil, err
		}
	}
	data, _ := e.journal.done("preflight")
	u, err := e.graph.GetUser(ctx, data["user_id"])
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	e.user = u
	if err := e.predictEntra(ctx); err != nil {
		return nil, err
	}
	var keys []report.Key
	for slot := 1; slot <= e.cfg.Keys; slot++ {
		k, err := e.provisionReplugging(ctx, slot)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", slot, err)
		}
		keys = append(keys, k)
	}
	retired, err := e.retire(ctx, keys)
	if err != nil {
		return nil, err
	}
	return e.report(ctx, keys, retired)
}

// openSlot asks for key slot alone to be plugged in, and opens it.
func (e *Engine) openSlot(ctx context.Context, slot int, kind, text string) (ctap.Authenticator, io.Closer, error) {
	return fidokey.OpenAlone(ctx, e.devices, e.prompt, officer.Instruction{Kind: kind, Slot: slot, Text: text})
}

// pinHalves says in the journal where the PIN's halves came from.
func (e *Engine) pinHalves() string {
	if e.cfg.GeneratedPIN {
		return "generated"
	}
	return "typed"
}

// ceremonyID names this ceremony in the report and on the envelopes.
func (e *Engine) ceremonyID() string { return "kc-" + e.started.Format("20060102-150405") }

// pin asks both officers for their halves of key slot's PIN (zero it).
func (e *Engine) pin(ctx context.Context, slot int, newPIN bool) ([]byte, error) {
	return officer.SplitPIN(ctx, e.prompt, slot, e.cfg.OfficerA, e.cfg.OfficerB, newPIN)
}

// keySteps are the steps of one key, in order; StepCount counts them.
var keySteps = []string{"insert", "reset", "pin", "create", "attest", "enroll", "test"}

// StepCount is how many steps a ceremony of cfg.Keys keys reports:
// preflight, each key's steps, and the report.
func (cfg Config) StepCount() int { return 1 + cfg.Keys*len(keySteps) + 1 }

// slotRun is one key's part of a ceremony.
type slotRun struct {
	e      *Engine
	slot   int
	auth   ctap.Authenticator
	closer io.Closer
	info   *ctap.Info
	pin    []byte
}

func (r *slotRun) step(s string) string { return r.e.slotStep(r.slot, s) }

// slotStep names step s of key slot in the journal: "key1/reset" for the
// first key offered for the slot, "key1.2/reset" for the key that replaces
// it once the attestation refused it (voidStep), and so on; a resume then
// finds nothing done for the new key, as nothing was.
func (e *Engine) slotStep(slot int, s string) string {
	voided := 0
	for _, en := range e.journal.recorded() {
		if en.Step == voidStep(slot) {
			voided++
		}
	}
	if voided == 0 {
		return fmt.Sprintf("key%d/%s", slot, s)
	}
	return fmt.Sprintf("key%d.%d/%s", slot, voided+1, s)
}

// voidStep is the journal step that records a key refused for slot by its
// attestation: the key is void for the ceremony, and the slot's steps start
// again with the key that replaces it.
func voidStep(slot int) string { return fmt.Sprintf("key%d/void", slot) }

// void records that the attestation refused the key in the slot: what it
// is and why, in the journal. The ceremony stops; a resume asks for
// another key for the slot instead of meeting the same refusal again.
func (r *slotRun) void(refusal error) error {
	e := r.e
	if err := e.failed(r.step("attest"), refusal); err != refusal { //nolint:errorlint // the journal's own failure
		return err
	}
	if err := e.journal.Append(voidStep(r.slot), "note", map[string]string{"aaguid": r.info.AAGUID.String(),
		"reason": refusal.Error()}); err != nil {
		return fmt.Errorf("%w (and the journal could not record the key void: %v)", refusal, err)
	}
	return fmt.Errorf(
		"%w: replace key %d with an allowed key; nothing was registered, and a resume asks for the new key",
		refusal,
		r.slot,
	)
}

// maxReplugs bounds how often a key pulled out in the middle of its steps
// is waited for before the ceremony stops (to be resumed from the journal).
const maxReplugs = 5

// provisionReplugging runs a key's steps; when the key is pulled out (or
// stops answering) in the middle, the officers are asked to plug it back
// in and the steps go on from the journal, after checking it is the same
// key (its model, and once created, its credential).
func (e *Engine) provisionReplugging(ctx context.Context, slot int) (report.Key, error) {
	var k report.Key
	err := e.whileReplugged(ctx, slot, func() (err error) {
		k, err = e.provision(ctx, slot)
		return err
	})
	return k, err
}

// whileReplugged runs attempt again, up to maxReplugs times, while it fails
// because key slot was pulled out or stopped answering, asking the officers
// each time to plug the same key back in.
func (e *Engine) whileReplugged(ctx context.Context, slot int, attempt func() error) error {
	for n := 0; ; n++ {
		err := attempt()
		if err == nil || !yanked(ctx, err) || n == maxReplugs || ctx.Err() != nil {
			return err
		}
		e.prompt.Progress(
			fmt.Sprintf("key%d", slot),
			fmt.Sprintf(
				"key %d was pulled out or stopped answering (%v): plug the same key back in; nothing recorded is lost",
				slot,
				err,
			),
		)
	}
}

// provision runs the per-key steps, skipping what the journal says is done.
func (e *Engine) provision(ctx context.Context, slot int) (report.Key, error) {
	r := &slotRun{e: e, slot: slot}
	if en, ok := e.journal.doneEntry(r.step("tested")); ok && en.Key != nil {
		return *en.Key, nil
	}
	defer func() {
		clear(r.pin)
		if r.closer != nil {
			r.closer.Close()
		}
	}()
	if err := r.prepare(ctx); err != nil {
		return report.Key{}, err
	}
	k, err := r.createAndEnroll(ctx)
	if err != nil {
		return report.Key{}, err
	}
	if err := r.test(ctx, &k); err != nil {
		return report.Key{}, err
	}
	if err := e.journal.appendKey(r.step("tested"), "done", nil, &k); err != nil {
		return report.Key{}, err
	}
	return k, nil
}

// failed records that step failed with err and returns err; a journal
// that cannot record it is the error then (nothing may go on).
func (e *Engine) failed(step string, err error) error {
	if jerr := e.journal.Append(step, "failed", map[string]string{"error": err.Error()}); jerr != nil {
		return fmt.Errorf("%w (and the journal could not record it: %v)", err, jerr)
	}
	return err
}

// deviate records a deviation from the ceremony's plan in the journal (so
// a resumed ceremony reports it too) and tells the officers.
func (e *Engine) deviate(step, text string) error {
	if err := e.journal.Append(step, "deviation", map[string]string{"deviation": text}); err != nil {
		return err
	}
	e.prompt.Progress(step, text+" (recorded as a deviation)")
	return nil
}

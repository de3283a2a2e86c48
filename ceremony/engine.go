package ceremony

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/envelope"
	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/internal/keyname"
	"github.com/keyceremony/keyceremony/keystep"
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
	Keys     int  // default 2
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
	// Deviations known before the start (e.g. the CTAP backend's limits)
	// go into the report as they are.
	Deviations []string
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
	if cfg.Keys == 0 {
		cfg.Keys = 2
	}
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

// predictEntra reads the passkey (FIDO2) policy as Entra will apply it to
// the account — passkey profiles of the targets that reach it, or the
// legacy key restrictions — and refuses before anything is touched when
// none of the models the attestation policy allows would be registered.
// An unreadable policy is said, and Entra's own answer at registration
// remains the judge.
func (e *Engine) predictEntra(ctx context.Context) error {
	pr, ok := e.graph.(policyReader)
	if !ok {
		return nil
	}
	pol, err := pr.FIDO2MethodPolicy(ctx)
	if err != nil {
		e.prompt.Progress("preflight", fmt.Sprintf("the passkey policy could not be read (%v): Entra's acceptance of each key is known only at registration", err))
		return nil
	}
	groups, _ := pr.GroupsOf(ctx, e.user.ID) // unreadable: all_users targets still judge
	e.entra = func(aaguid string) (bool, string) { return pol.Admits(aaguid, e.user.ID, groups) }
	candidates := []string{}
	for _, m := range e.cfg.Verifier.Policy.Allowed {
		candidates = append(candidates, m.AAGUID)
	}
	if m := e.cfg.Verifier.RehearsalModel; e.cfg.Verifier.Rehearsal && m != nil {
		candidates = append(candidates, m.AAGUID)
	}
	var first string
	for _, a := range candidates {
		ok, why := e.entra(a)
		if ok {
			return nil
		}
		if first == "" {
			first = why
		}
	}
	return fmt.Errorf("preflight: Entra would register none of the models the attestation policy allows for %s (%s): change the passkey policy first; nothing was touched", e.user.UPN, first)
}

// confirmBoth asks both officers, in turn, to confirm a state change.
func (e *Engine) confirmBoth(ctx context.Context, action string) ([]string, error) {
	for _, o := range []string{e.cfg.OfficerA, e.cfg.OfficerB} {
		if err := e.prompt.Confirm(ctx, o, action); err != nil {
			return nil, fmt.Errorf("%s: %w", action, officer.ErrAbandoned)
		}
	}
	return []string{e.cfg.OfficerA, e.cfg.OfficerB}, nil
}

// Run runs (or resumes) the ceremony to its signed report.
func (e *Engine) Run(ctx context.Context) (*Result, error) {
	e.started = e.cfg.Now().UTC()
	if first := e.journal.recorded(); len(first) > 0 {
		e.started = first[0].Time
	}
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

func (e *Engine) preflight(ctx context.Context) error {
	if err := e.journal.Append("preflight", "begin", map[string]string{"account": e.cfg.Account, "officer_a": e.cfg.OfficerA, "officer_b": e.cfg.OfficerB,
		"rehearsal": fmt.Sprint(e.cfg.Rehearsal), "policy_sha256": e.cfg.Verifier.Policy.SHA256()}); err != nil {
		return err
	}
	u, err := e.graph.GetUser(ctx, e.cfg.Account)
	if err != nil {
		return fmt.Errorf("preflight: %w", e.failed("preflight", err))
	}
	if u.OnPremisesSyncEnabled != nil && *u.OnPremisesSyncEnabled {
		e.prompt.Progress("preflight", "WARNING: the account is synced from on-premises; a break-glass account should be cloud-only")
	}
	if err := e.namesFree(ctx, u.ID); err != nil {
		return fmt.Errorf("preflight: %w", e.failed("preflight", err))
	}
	for _, f := range e.cfg.PostureFindings {
		e.prompt.Progress("preflight", "POSTURE FINDING: "+f)
	}
	by, err := e.confirmBoth(ctx, fmt.Sprintf("start the ceremony for %s with %d keys", u.UPN, e.cfg.Keys))
	if err != nil {
		return err
	}
	e.prompt.Progress("preflight", fmt.Sprintf("account %s (%s), policy %q", u.UPN, u.ID, e.cfg.Verifier.Policy.Name))
	if n := len(e.cfg.OtherKeys); n > 0 {
		e.prompt.Progress("preflight", fmt.Sprintf("%d key(s) of other accounts were provisioned in this sitting: each key inserted is checked against them before anything is done to it", n))
	}
	return e.journal.Append("preflight", "done", map[string]string{"user_id": u.ID, "upn": u.UPN, "confirmed_by": strings.Join(by, ", ")})
}

// namesFree refuses, before any key is touched, names the account's
// methods already carry: Entra's 30 characters leave the default names the
// year, not the day, so a second ceremony in a year would meet the first
// one's names, which registration refuses and a resume would adopt.
func (e *Engine) namesFree(ctx context.Context, userID string) error {
	methods, err := e.graph.ListFIDO2(ctx, userID)
	if err != nil {
		return err
	}
	pattern := e.cfg.Verifier.Policy.DisplayNamePattern
	for slot := 1; slot <= e.cfg.Keys; slot++ {
		fixed := keyname.Render(pattern, e.cfg.Sitting, slot, "", e.cfg.Now())
		for _, m := range methods {
			if m.DisplayName == fixed || strings.HasPrefix(m.DisplayName, fixed+" ") {
				return fmt.Errorf("the account already has a FIDO2 method named %q (%s), the name key %d would get: "+
					"retire it first, or name keys by day (a display_name_pattern with {date}, e.g. \"BG{account} key {n} {date} {model}\")",
					m.DisplayName, m.ID, slot)
			}
		}
	}
	return nil
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
func (cfg Config) StepCount() int {
	keys := cfg.Keys
	if keys == 0 {
		keys = 2
	}
	return 1 + keys*len(keySteps) + 1
}

// slotRun is one key's part of a ceremony.
type slotRun struct {
	e      *Engine
	slot   int
	auth   ctap.Authenticator
	closer io.Closer
	info   *ctap.Info
	pin    []byte
}

func (r *slotRun) step(s string) string { return fmt.Sprintf("key%d/%s", r.slot, s) }

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
		if err == nil || !errors.Is(err, hid.ErrDeviceGone) || n == maxReplugs || ctx.Err() != nil {
			return err
		}
		e.prompt.Progress(fmt.Sprintf("key%d", slot), fmt.Sprintf("key %d was pulled out or stopped answering (%v): plug the same key back in; nothing recorded is lost", slot, err))
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

// prepare makes the key ready for a credential: plugged in alone, reset if
// the ceremony resets, its PIN set (or asked), the minimum PIN length applied.
func (r *slotRun) prepare(ctx context.Context) error {
	for _, step := range []func(context.Context) error{r.insert, r.reset, r.setOrAskPIN, r.minPINLength} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// PreparedKey is a key made ready for a credential by PrepareKey. Close
// zeroes the PIN and releases the key.
type PreparedKey struct {
	Auth ctap.Authenticator
	Info *ctap.Info
	PIN  []byte
	run  *slotRun
}

// Close zeroes the PIN and releases the key.
func (p *PreparedKey) Close() {
	clear(p.PIN)
	if p.run.closer != nil {
		p.run.closer.Close()
	}
}

// PrepareKey runs the steps that make key slot ready, as the ceremony does
// them (insert alone, reset in the power-up window, the split PIN, the
// minimum PIN length), journaled and resumable, waiting for a key pulled
// out. The offline split uses it on the workstation; the engine's Graph is
// not used.
func (e *Engine) PrepareKey(ctx context.Context, slot int) (*PreparedKey, error) {
	var r *slotRun
	err := e.whileReplugged(ctx, slot, func() error {
		r = &slotRun{e: e, slot: slot}
		err := r.prepare(ctx)
		if err != nil {
			clear(r.pin)
			if r.closer != nil {
				r.closer.Close()
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("key %d: %w", slot, err)
	}
	return &PreparedKey{Auth: r.auth, Info: r.info, PIN: r.pin, run: r}, nil
}

// insert has the officers plug key slot in alone, reads what it is, and
// sends back a key that already holds a credential of this sitting.
func (r *slotRun) insert(ctx context.Context) error {
	e := r.e
	var err error
	for n := 0; ; n++ {
		r.auth, r.closer, err = e.openSlot(ctx, r.slot, officer.Insert, fmt.Sprintf("%s: insert key %d now (and no other key)", e.cfg.OfficerA, r.slot))
		if err != nil {
			return err
		}
		if r.info, err = r.auth.Info(ctx); err != nil {
			return err
		}
		other, err := r.alreadyProvisioned(ctx)
		if err != nil {
			return err
		}
		if other == "" {
			break
		}
		r.closer.Close()
		r.closer = nil
		if n == maxReplugs {
			return fmt.Errorf("the key offered as key %d is %s, again: nothing was done to it; find key %d and resume", r.slot, other, r.slot)
		}
		e.prompt.Progress(r.step("insert"), fmt.Sprintf("this key is %s (it holds that key's credential): nothing was done to it. Take it out and insert key %d", other, r.slot))
		if err := e.prompt.Instruct(ctx, officer.Instruction{Kind: officer.Remove, Slot: r.slot,
			Text: fmt.Sprintf("This key is %s, not key %d: unplug it and put it aside", other, r.slot)}); err != nil {
			return err
		}
	}
	fw := ""
	if r.info.FirmwareVersion != nil {
		fw = ctap.FormatFirmware(*r.info.FirmwareVersion)
	}
	if e.entra != nil {
		if ok, why := e.entra(r.info.AAGUID.String()); !ok {
			return fmt.Errorf("Entra would not register key %d (AAGUID %s) for %s: %s; nothing was done to the key", r.slot, r.info.AAGUID, e.user.UPN, why)
		}
	}
	if before, ok := e.journal.last(r.step("insert")); ok && before.Data["aaguid"] != r.info.AAGUID.String() {
		return fmt.Errorf("this is not key %d: key %d is a %s model (AAGUID), this key is %s; plug in key %d", r.slot, r.slot, before.Data["aaguid"], r.info.AAGUID, r.slot)
	}
	e.prompt.Progress(r.step("insert"), fmt.Sprintf("AAGUID %s, firmware %s (%s)", r.info.AAGUID, fw, r.info.FirmwareSource))
	return e.journal.Append(r.step("insert"), "note", map[string]string{"aaguid": r.info.AAGUID.String(), "firmware": fw})
}

// probeHash is the clientDataHash of the silent probe: no relying party
// ever sees the probe's signature.
var probeHash = sha256.Sum256([]byte("keyceremony: does this key already hold a credential of this sitting?"))

// alreadyProvisioned names the key of this sitting whose credential the
// inserted key holds ("" for none). It asks the key silently (getAssertion
// with the known credential IDs as allowList, up=false, no PIN), as a
// platform checks an excludeList: Entra's credentials are created with
// credProtect userVerificationOptional, which a key reveals to an
// allowList without user verification (CTAP 2.1, 12.1).
func (r *slotRun) alreadyProvisioned(ctx context.Context) (string, error) {
	e := r.e
	known := append([]KnownKey(nil), e.cfg.OtherKeys...)
	for slot := 1; slot <= e.cfg.Keys; slot++ {
		if slot == r.slot {
			continue
		}
		if en, ok := e.journal.doneEntry(fmt.Sprintf("key%d/created", slot)); ok && en.Key != nil {
			if id, err := base64.RawURLEncoding.DecodeString(en.Key.CredentialID); err == nil {
				known = append(known, KnownKey{Label: fmt.Sprintf("key %d of this ceremony", slot), CredentialID: id})
			}
		}
	}
	if len(known) == 0 {
		return "", nil
	}
	batch := r.info.MaxCredentialCountInList
	if batch <= 0 {
		batch = 1 // CTAP 2.1: absent, one credential per request
	}
	up := false
	for start := 0; start < len(known); start += batch {
		part := known[start:min(start+batch, len(known))]
		allow := make([]ctap.CredentialDescriptor, len(part))
		for i, k := range part {
			allow[i] = ctap.CredentialDescriptor{Type: "public-key", ID: k.CredentialID}
		}
		as, err := r.auth.GetAssertion(ctx, ctap.GetAssertionOptions{RPID: enroll.RPID, ClientDataHash: probeHash[:], AllowList: allow, UserPresence: &up})
		switch {
		case errors.Is(err, ctap.ErrNoCredentials):
			continue
		case errors.Is(err, hid.ErrDeviceGone) || ctx.Err() != nil:
			return "", err
		case err != nil:
			// The key would not say (an alwaysUv key may refuse a silent
			// request): the officers check by hand, and the report says so.
			if derr := e.deviate(r.step("probe"), fmt.Sprintf("key %d would not say whether it already holds a credential of this sitting (%v): the officers checked it is none of the keys already done", r.slot, err)); derr != nil {
				return "", derr
			}
			if _, cerr := e.confirmBoth(ctx, fmt.Sprintf("the key in the slot for key %d is none of the %d key(s) already provisioned in this sitting", r.slot, len(known))); cerr != nil {
				return "", cerr
			}
			return "", nil
		}
		for _, k := range part {
			if len(as) > 0 && bytes.Equal(as[0].Credential.ID, k.CredentialID) {
				return k.Label, nil
			}
		}
		return part[0].Label, nil // one of this batch answered
	}
	return "", nil
}

// reset erases the key: destructive, only in the power-up window, and on
// resume only after checking whether an interrupted reset had happened.
func (r *slotRun) reset(ctx context.Context) error {
	e, step := r.e, r.step("reset")
	if _, done := e.journal.done(step); !e.cfg.Reset || done {
		return nil
	}
	if e.journal.begun(step) {
		if set, _ := r.info.Option("clientPin"); !set {
			return e.journal.Append(step, "done", map[string]string{"reconciled": "key has no PIN: the reset had happened"})
		}
	}
	by, err := e.confirmBoth(ctx, fmt.Sprintf("reset key %d (erases everything on it)", r.slot))
	if err != nil {
		return err
	}
	r.closer.Close()
	r.auth, r.closer, err = e.openSlot(ctx, r.slot, officer.Replug, fmt.Sprintf("Unplug key %d, plug it back in, then confirm at once: the key accepts a reset only within 10 seconds", r.slot))
	if err != nil {
		return err
	}
	for late := 0; ; late++ {
		if err := e.journal.Append(step, "begin", map[string]string{"confirmed_by": strings.Join(by, ", ")}); err != nil {
			return err
		}
		err := r.auth.Reset(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, ctap.ErrNotAllowed) || late == maxReplugs {
			return e.failed(step, err)
		}
		// The key refuses a reset outside its power-up window: re-plug and
		// answer at once, as often as it takes.
		if jerr := e.journal.Append(step, "failed", map[string]string{"error": err.Error()}); jerr != nil {
			return jerr
		}
		r.closer.Close()
		r.auth, r.closer, err = e.openSlot(ctx, r.slot, officer.Replug, fmt.Sprintf("Too late: the key accepts a reset only within 10 seconds of being plugged in. Unplug key %d, plug it back in, then press Enter within 10 s", r.slot))
		if err != nil {
			return err
		}
	}
	if err := e.journal.Append(step, "done", map[string]string{"confirmed_by": strings.Join(by, ", ")}); err != nil {
		return err
	}
	e.prompt.Progress(step, "erased")
	return nil
}

// setOrAskPIN sets the PIN from the officers' halves on a key without one,
// changes it on a key that demands a new one (forcePINChange, as a key is
// left when a minimum PIN length above its PIN was set), or asks for the
// halves of the PIN a key has.
func (r *slotRun) setOrAskPIN(ctx context.Context) error {
	e, step := r.e, r.step("pin")
	var err error
	if r.info, err = r.auth.Info(ctx); err != nil {
		return err
	}
	if set, _ := r.info.Option("clientPin"); !set {
		return r.setPIN(ctx, step)
	}
	if e.journal.begun(step) {
		if err := e.journal.Append(step, "done", map[string]string{"reconciled": "the key has a PIN: it was set before the interruption", "split": "true"}); err != nil {
			return err
		}
	}
	if r.info.ForcePINChange {
		return r.changePIN(ctx, r.step("pin-change"))
	}
	r.pin, err = e.pin(ctx, r.slot, false)
	return err
}

// setPIN sets a new PIN from the officers' halves.
func (r *slotRun) setPIN(ctx context.Context, step string) error {
	e := r.e
	by, err := e.confirmBoth(ctx, fmt.Sprintf("set the PIN of key %d from your two halves", r.slot))
	if err != nil {
		return err
	}
	if r.pin, err = r.newPIN(ctx); err != nil {
		return err
	}
	if err := e.journal.Append(step, "begin", map[string]string{"confirmed_by": strings.Join(by, ", ")}); err != nil {
		return err
	}
	if err := r.auth.SetPIN(ctx, r.pin); err != nil {
		return e.failed(step, err)
	}
	if err := e.journal.Append(step, "done", map[string]string{"split": e.pinHalves()}); err != nil {
		return err
	}
	e.prompt.Progress(step, map[bool]string{false: "PIN set from two halves", true: "PIN set from two generated halves"}[e.cfg.GeneratedPIN])
	return nil
}

// changePIN replaces the PIN of a key that demands a new one: the officers
// give the halves of the PIN it has, then the new halves.
func (r *slotRun) changePIN(ctx context.Context, step string) error {
	e := r.e
	e.prompt.Progress(step, fmt.Sprintf("key %d demands a new PIN (forcePINChange): first the halves of its PIN now, then new halves", r.slot))
	by, err := e.confirmBoth(ctx, fmt.Sprintf("change the PIN of key %d, which demands a new one", r.slot))
	if err != nil {
		return err
	}
	current, err := e.pin(ctx, r.slot, false)
	if err != nil {
		return err
	}
	defer clear(current)
	if r.pin, err = r.newPIN(ctx); err != nil {
		return err
	}
	if err := e.journal.Append(step, "begin", map[string]string{"confirmed_by": strings.Join(by, ", ")}); err != nil {
		return err
	}
	if err := r.auth.ChangePIN(ctx, current, r.pin, 0); err != nil {
		return e.failed(step, err)
	}
	if err := e.journal.Append(step, "done", map[string]string{"split": e.pinHalves()}); err != nil {
		return err
	}
	e.prompt.Progress(step, map[bool]string{false: "PIN changed from two new halves", true: "PIN changed to one from two new generated halves"}[e.cfg.GeneratedPIN])
	return nil
}

// maxPINAttempts bounds how often the officers are asked for new halves
// whose joined PIN is too short.
const maxPINAttempts = 5

// newPIN asks for the halves of a new PIN, saying first how long it must be
// (the policy's minimum and the key's, CTAP's 4 at least), and asks both
// halves again while the joined PIN is too short or not a valid PIN. Nothing
// is sent to the key until it is.
func (r *slotRun) newPIN(ctx context.Context) ([]byte, error) {
	e := r.e
	keyMin := r.info.MinPINLength
	minLen := max(e.cfg.MinPINLength, keyMin, 4)
	if e.cfg.GeneratedPIN {
		return r.generatedPIN(ctx, minLen)
	}
	e.prompt.Progress(r.step("pin"), fmt.Sprintf("the new PIN must have at least %d characters (policy %d, key %s): each officer types one half",
		minLen, e.cfg.MinPINLength, r.info.MinPINLengthText()))
	for range maxPINAttempts {
		pin, err := e.pin(ctx, r.slot, true)
		if err != nil {
			return nil, err
		}
		verr := ctap.ValidatePIN(pin, minLen)
		if verr == nil {
			return pin, nil
		}
		clear(pin)
		e.prompt.Progress(r.step("pin"), fmt.Sprintf("the joined PIN is not accepted (%v): both officers, type your halves again", verr))
	}
	return nil, fmt.Errorf("key %d: no acceptable PIN after %d attempts (at least %d characters)", r.slot, maxPINAttempts, minLen)
}

// generatedPINLength is the length of a generated PIN when the policy and
// the key ask for less: eight digits, two halves of four.
const generatedPINLength = 8

// generatedPIN draws the new PIN and prints each half on its own page, one
// after the other: officer A seals half A before half B is printed, so both
// are never on the printer's tray, on a screen or in a file together. The
// halves leave memory with the PIN, which the caller zeroes.
func (r *slotRun) generatedPIN(ctx context.Context, minLen int) ([]byte, error) {
	e := r.e
	length := max(minLen, generatedPINLength)
	length += length % 2
	pin, err := envelope.Generate(nil, length)
	if err != nil {
		return nil, fmt.Errorf("key %d: %w", r.slot, err)
	}
	// Checked before a page is printed: a refused PIN would void its pages.
	if err := ctap.ValidatePIN(pin, minLen); err != nil {
		clear(pin)
		return nil, fmt.Errorf("key %d: the generated PIN: %w", r.slot, err)
	}
	e.prompt.Progress(r.step("pin"), fmt.Sprintf("a %d-digit PIN was drawn for key %d: each half is printed on its own page for its own envelope, and shown nowhere", length, r.slot))
	half := length / 2
	for _, part := range []struct {
		name, officer string
		digits        []byte
	}{{"A", e.cfg.OfficerA, pin[:half]}, {"B", e.cfg.OfficerB, pin[half:]}} {
		h := envelope.Half{Part: part.name, Officer: part.officer, Account: e.cfg.Account, CeremonyID: e.ceremonyID(),
			Slot: r.slot, Digits: part.digits, Printed: e.cfg.Now(), Rehearsal: e.cfg.Rehearsal}
		if err := e.cfg.PrintHalf(ctx, h); err != nil {
			clear(pin)
			return nil, fmt.Errorf("key %d: print PIN half %s: %w", r.slot, part.name, err)
		}
		if err := e.prompt.Confirm(ctx, part.officer, fmt.Sprintf("take the page with PIN half %s of key %d from the printer, seal it in your envelope and sign across the flap", part.name, r.slot)); err != nil {
			clear(pin)
			return nil, err
		}
	}
	return pin, nil
}

// minPINLength applies the policy's minimum PIN length where the key can,
// and records a deviation where it cannot.
func (r *slotRun) minPINLength(ctx context.Context) error {
	e, step := r.e, r.step("minpin")
	want := e.cfg.MinPINLength
	if want == 0 || r.info.MinPINLength >= want {
		return nil
	}
	if ok, _ := r.info.Option("setMinPINLength"); !ok {
		return e.deviate(step, fmt.Sprintf("key %d: minimum PIN length %d not applied: the key has no authenticatorConfig setMinPINLength", r.slot, want))
	}
	tok, err := r.auth.GetPINToken(ctx, r.pin, ctap.TokenRequest{Permissions: ctap.PermAuthenticatorConfig})
	if err != nil {
		return err
	}
	err = r.auth.SetMinPINLength(ctx, tok, want, false)
	tok.Zero()
	if errors.Is(err, ctap.ErrUnsupported) {
		return e.deviate(step, fmt.Sprintf("key %d: minimum PIN length %d not applied: %v", r.slot, want, err))
	}
	return err
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

// adoptEarlierRegistration looks, after an interrupted POST, whether the
// registration went through; if so it is recorded and returned.
func (r *slotRun) adoptEarlierRegistration(ctx context.Context) (*report.Key, error) {
	e := r.e
	c, ok := e.journal.doneEntry(r.step("created"))
	if !ok || c.Key == nil || !e.journal.begun(r.step("enroll")) {
		return nil, nil
	}
	k := *c.Key
	list, err := e.graph.ListFIDO2(ctx, e.user.ID)
	if err != nil {
		return nil, err
	}
	for _, m := range list {
		if m.DisplayName == k.DisplayName {
			k.GraphMethodID = m.ID
			if err := e.journal.appendKey(r.step("enroll"), "done", map[string]string{"method_id": m.ID, "reconciled": "found in Graph"}, &k); err != nil {
				return nil, err
			}
			e.prompt.Progress(r.step("enroll"), "the earlier registration had gone through: adopted, not repeated")
			return &k, nil
		}
	}
	return nil, nil
}

// sameKeyAsCreated checks, when this key's credential was created before an
// interruption, that the key plugged in now still holds it: otherwise it
// is another key of the same model.
func (r *slotRun) sameKeyAsCreated(ctx context.Context) error {
	c, ok := r.e.journal.doneEntry(r.step("created"))
	if !ok || c.Key == nil {
		return nil
	}
	credID, err1 := base64.RawURLEncoding.DecodeString(c.Key.CredentialID)
	cose, err2 := base64.RawURLEncoding.DecodeString(c.Key.PublicKeyCOSE)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("the journal's record of key %d: %w", r.slot, err)
	}
	tok, err := r.auth.GetPINToken(ctx, r.pin, ctap.TokenRequest{Permissions: ctap.PermGetAssertion, RPID: enroll.RPID})
	if err != nil {
		return err
	}
	defer tok.Zero()
	_, err = keystep.TestAssertion(ctx, r.auth, tok, credID, cose, "keyceremony same-key check", r.e.cfg.Now())
	if errors.Is(err, ctap.ErrNoCredentials) || errors.Is(err, keystep.ErrAssertionMismatch) {
		return fmt.Errorf("this is not the key %d that created credential %s: plug in that key", r.slot, c.Key.CredentialID)
	}
	return err
}

// createAndEnroll creates the credential, judges its attestation and
// registers it, adopting a registration that an interrupted run made.
func (r *slotRun) createAndEnroll(ctx context.Context) (report.Key, error) {
	e, slot := r.e, r.slot
	if en, ok := e.journal.doneEntry(r.step("enroll")); ok && en.Key != nil {
		return *en.Key, nil
	}
	if k, err := r.adoptEarlierRegistration(ctx); err != nil || k != nil {
		if k == nil {
			return report.Key{}, err
		}
		return *k, err
	}
	if err := r.sameKeyAsCreated(ctx); err != nil {
		return report.Key{}, err
	}
	opts, err := e.graph.CreationOptions(ctx, e.user.ID, 0)
	if err != nil {
		return report.Key{}, err
	}
	tok, err := r.auth.GetPINToken(ctx, r.pin, ctap.TokenRequest{Permissions: ctap.PermMakeCredential | ctap.PermGetAssertion, RPID: enroll.RPID})
	if err != nil {
		return report.Key{}, err
	}
	defer tok.Zero()
	e.prompt.Progress(r.step("create"), "touch the key to create the credential")
	c, err := keystep.CreateForEntra(ctx, r.auth, opts, tok, r.info.FirmwareVersion, e.cfg.Verifier)
	if err != nil {
		return report.Key{}, err
	}
	v := c.Verdict
	if !v.Allowed {
		return report.Key{}, e.failed(r.step("attest"), keystep.Refusal(v))
	}
	e.prompt.Progress(r.step("attest"), fmt.Sprintf("%s, chains to %s", v.Model, v.Root.Subject))
	certSum := ""
	if len(v.Chain) > 0 {
		certSum = v.Chain[0].SHA256
	}
	k := report.Key{
		Slot: slot, AAGUID: c.AuthData.AAGUID.String(), Model: v.Model, Firmware: v.Firmware, FirmwareSource: r.info.FirmwareSource,
		CredentialID:  base64.RawURLEncoding.EncodeToString(c.AuthData.CredentialID),
		PublicKeyCOSE: base64.RawURLEncoding.EncodeToString(c.AuthData.CredentialKey),
		PublicKeyPEM:  c.PublicKeyPEM,
		Attestation:   keystep.Record(v), PINSet: true, PINSplit: true, PINGenerated: e.cfg.GeneratedPIN, AttestationCert: certSum,
		DisplayName: e.cfg.DisplayName(slot, v.Model, e.cfg.Now()),
	}
	if err := e.journal.appendKey(r.step("created"), "done", map[string]string{"credential_id": k.CredentialID}, &k); err != nil {
		return report.Key{}, err
	}
	by, err := e.confirmBoth(ctx, fmt.Sprintf("register key %d as %q on %s", slot, k.DisplayName, e.user.UPN))
	if err != nil {
		return report.Key{}, err
	}
	if err := e.journal.Append(r.step("enroll"), "begin", map[string]string{"display_name": k.DisplayName, "confirmed_by": strings.Join(by, ", ")}); err != nil {
		return report.Key{}, err
	}
	m, err := e.graph.Register(ctx, e.user.ID, k.DisplayName, enroll.Credential{ID: c.AuthData.CredentialID, ClientDataJSON: c.ClientDataJSON,
		AttestationObject: c.AttestationObject, AAGUID: k.AAGUID, ClientExtensionResults: map[string]any{"hmacCreateSecret": c.HMACSecret}})
	if err != nil {
		return report.Key{}, e.failed(r.step("enroll"), err)
	}
	back, err := e.graph.GetFIDO2(ctx, e.user.ID, m.ID)
	if err != nil {
		return report.Key{}, fmt.Errorf("read back: %w", err)
	}
	if !strings.EqualFold(back.AAGUID, k.AAGUID) {
		return report.Key{}, fmt.Errorf("Entra records AAGUID %s for the new method, the key is %s", back.AAGUID, k.AAGUID)
	}
	k.GraphMethodID = m.ID
	if err := e.journal.appendKey(r.step("enroll"), "done", map[string]string{"method_id": m.ID}, &k); err != nil {
		return report.Key{}, err
	}
	e.prompt.Progress(r.step("enroll"), fmt.Sprintf("registered as %q (method %s)", k.DisplayName, m.ID))
	return k, nil
}

// test signs a fresh challenge with the new credential and checks the
// signature against the recorded public key; then it records the key's
// PIN retries and PIN policy as they stand.
func (r *slotRun) test(ctx context.Context, k *report.Key) error {
	credID, err := base64.RawURLEncoding.DecodeString(k.CredentialID)
	if err != nil {
		return err
	}
	cose, err := base64.RawURLEncoding.DecodeString(k.PublicKeyCOSE)
	if err != nil {
		return err
	}
	tok, err := r.auth.GetPINToken(ctx, r.pin, ctap.TokenRequest{Permissions: ctap.PermGetAssertion, RPID: enroll.RPID})
	if err != nil {
		return err
	}
	defer tok.Zero()
	count, err := keystep.TestAssertion(ctx, r.auth, tok, credID, cose, fmt.Sprintf("keyceremony test assertion key %d", r.slot), r.e.cfg.Now())
	if errors.Is(err, ctap.ErrNoCredentials) || errors.Is(err, keystep.ErrAssertionMismatch) {
		return fmt.Errorf("this is not the key %d that created credential %s (test assertion: %v): plug in that key", r.slot, k.CredentialID, err)
	}
	if err != nil {
		return fmt.Errorf("test assertion: %w", err)
	}
	k.AssertionCount = count
	r.e.prompt.Progress(r.step("test"), fmt.Sprintf("signature verified with the recorded public key (counter %d)", count))
	if k.PINRetries, _, err = r.auth.PINRetries(ctx); err != nil {
		return err
	}
	info, err := r.auth.Info(ctx)
	if err != nil {
		return err
	}
	k.MinPINLength, k.ForcePINChange = info.MinPINLength, info.ForcePINChange
	return nil
}

// retire deletes the account's other FIDO2 methods, only after both new
// keys verified and with both officers' confirmation.
func (e *Engine) retire(ctx context.Context, keys []report.Key) ([]report.Retired, error) {
	if !e.cfg.Retire {
		return nil, nil
	}
	if en, ok := e.journal.doneEntry("retire"); ok {
		return en.Retired, nil
	}
	keep := map[string]bool{}
	for _, k := range keys {
		if k.GraphMethodID == "" || k.AssertionCount == 0 {
			return nil, errors.New("not retiring anything: the new keys are not both registered and tested")
		}
		keep[k.GraphMethodID] = true
	}
	list, err := e.graph.ListFIDO2(ctx, e.user.ID)
	if err != nil {
		return nil, err
	}
	var old []enroll.Method
	var names []string
	for _, m := range list {
		if !keep[m.ID] {
			old = append(old, m)
			names = append(names, fmt.Sprintf("%q (%s)", m.DisplayName, m.ID))
		}
	}
	var retired []report.Retired
	if len(old) > 0 {
		by, err := e.confirmBoth(ctx, "retire the old keys "+strings.Join(names, ", "))
		if err != nil {
			return nil, err
		}
		for _, m := range old {
			s := "retire/" + m.ID
			if _, done := e.journal.done(s); !done {
				if err := e.journal.Append(s, "begin", map[string]string{"display_name": m.DisplayName, "confirmed_by": strings.Join(by, ", ")}); err != nil {
					return nil, err
				}
				if err := e.graph.DeleteFIDO2(ctx, e.user.ID, m.ID); err != nil && !errors.Is(err, enroll.ErrNotFound) {
					return nil, e.failed(s, err)
				}
				if err := e.journal.Append(s, "done", nil); err != nil {
					return nil, err
				}
			}
			e.prompt.Progress("retire", fmt.Sprintf("deleted %q", m.DisplayName))
			retired = append(retired, report.Retired{GraphMethodID: m.ID, DisplayName: m.DisplayName, AAGUID: m.AAGUID, Created: m.Created.UTC().Format(time.RFC3339)})
		}
	}
	return retired, e.journal.appendRetired("retire", "done", retired)
}

// report builds, signs and writes the report from the journal.
func (e *Engine) report(ctx context.Context, keys []report.Key, retired []report.Retired) (*Result, error) {
	if d, ok := e.journal.done("report"); ok {
		return &Result{Dir: d["dir"], Fingerprint: d["fingerprint"]}, nil
	}
	if _, err := e.confirmBoth(ctx, "sign the ceremony report with the workstation key"); err != nil {
		return nil, err
	}
	r := &report.Report{
		Type: report.TypeCeremony, Rehearsal: e.cfg.Rehearsal, CeremonyID: e.ceremonyID(),
		Started: e.started, Ended: e.cfg.Now().UTC(),
		Tenant:      report.Tenant{ID: e.cfg.TenantID, Domain: e.cfg.Domain},
		Account:     report.Account{UPN: e.user.UPN, ObjectID: e.user.ID},
		Officers:    []report.Person{{Role: "officer-a", Name: e.cfg.OfficerA}, {Role: "officer-b", Name: e.cfg.OfficerB}},
		Workstation: report.Workstation{Hostname: e.cfg.Hostname}, Tool: e.cfg.Tool,
		Policy: &report.PolicyRef{Name: e.cfg.Verifier.Policy.Name, SHA256: e.cfg.Verifier.Policy.SHA256()},
		Keys:   keys, Retired: retired, Steps: stepsFromJournal(e.journal.recorded()),
	}
	if e.cfg.Witness != "" {
		r.Officers = append(r.Officers, report.Person{Role: "witness", Name: e.cfg.Witness})
	}
	if m := e.cfg.Verifier.MDS; m != nil {
		r.MDS = &report.MDSRef{SHA256: m.SHA256, Serial: m.Serial}
	}
	if e.cfg.Previous != nil {
		prev, err := report.Parse(e.cfg.Previous)
		if err != nil {
			return nil, fmt.Errorf("previous report: %w", err)
		}
		r.Previous = report.Ref(e.cfg.Previous, prev)
	}
	r.Deviations = append(r.Deviations, e.cfg.Deviations...)
	r.Findings = append(r.Findings, e.cfg.PostureFindings...)
	for _, en := range e.journal.recorded() {
		if d := en.Data["deviation"]; d != "" && !slices.Contains(r.Deviations, d) {
			r.Deviations = append(r.Deviations, d)
		}
		if en.Phase == "done" && en.Data["reconciled"] != "" {
			r.Deviations = append(r.Deviations, fmt.Sprintf("%s resumed after an interruption: %s", en.Step, en.Data["reconciled"]))
		}
	}
	if err := e.setAsideInterruptedReport(); err != nil {
		return nil, err
	}
	if err := e.journal.Append("report", "begin", nil); err != nil {
		return nil, err
	}
	w, err := report.Write(e.cfg.OutDir, r, e.cfg.Signer)
	if err != nil {
		return nil, e.failed("report", err)
	}
	sum := sha256.Sum256(w.ReportJSON)
	if err := e.journal.Append("report", "done", map[string]string{"dir": w.Dir, "fingerprint": w.Fingerprint, "report_sha256": hex.EncodeToString(sum[:])}); err != nil {
		return nil, err
	}
	res := &Result{Dir: w.Dir, Fingerprint: w.Fingerprint}
	for _, k := range keys {
		res.Methods = append(res.Methods, k.GraphMethodID)
	}
	for _, x := range retired {
		res.Retired = append(res.Retired, x.GraphMethodID)
	}
	return res, nil
}

// setAsideInterruptedReport moves the files of a report whose writing was
// interrupted (begun, never recorded done) out of the way, so the report is
// written whole again; nothing is deleted, and the report says so.
func (e *Engine) setAsideInterruptedReport() error {
	if !e.journal.begun("report") {
		return nil
	}
	if _, err := os.Stat(e.cfg.OutDir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	aside := e.cfg.OutDir + ".interrupted-" + e.cfg.Now().UTC().Format("20060102-150405")
	if err := os.Rename(e.cfg.OutDir, aside); err != nil {
		return fmt.Errorf("set aside the interrupted report's files: %w", err)
	}
	return e.deviate("report", fmt.Sprintf("writing the report was interrupted; the files written then were moved to %s, unverified", aside))
}

// stepsFromJournal pairs each step's first entry with its final one.
func stepsFromJournal(entries []Entry) []report.Step {
	var out []report.Step
	index := map[string]int{}
	for _, en := range entries {
		i, seen := index[en.Step]
		if !seen {
			index[en.Step] = len(out)
			out = append(out, report.Step{Name: en.Step, Started: en.Time, Ended: en.Time, Outcome: en.Phase})
			i = len(out) - 1
		}
		out[i].Ended, out[i].Outcome = en.Time, en.Phase
		if by := en.Data["confirmed_by"]; by != "" {
			out[i].ConfirmedBy = strings.Split(by, ", ")
		}
		if d := en.Data["reconciled"]; d != "" {
			out[i].Detail = d
		} else if d := en.Data["error"]; d != "" {
			out[i].Detail = d
		}
	}
	return out
}

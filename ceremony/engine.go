// Package ceremony is the key ceremony as a state machine, with no UI: the
// steps of DESIGN.md (preflight; per key insert, reset, PIN, create,
// attest, enroll, test; retire; report), two-person confirmation of every
// step that changes state, and a hash-chained journal written before and
// after each step so that an interrupted ceremony resumes at the right
// place and never repeats a destructive step without checking reality
// first. The TUI and the headless rehearsal drive it through officer.Prompter.
package ceremony

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/officer"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/report"
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
	Retire       bool // delete the account's other FIDO2 methods at the end
	Verifier     *attest.Verifier
	// DisplayName names key n in Entra; default "Break glass key n (model, date)".
	DisplayName func(slot int, model string, date time.Time) string
	Rehearsal   bool
	Signer      report.Signer
	Tool        report.Tool
	Hostname    string
	OutDir      string // report files
	Previous    []byte // the account's previous report.json, for the chain
	// Deviations known before the start (e.g. the CTAP backend's limits)
	// go into the report as they are.
	Deviations []string
	Now        func() time.Time
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
}

// New prepares a ceremony with a journal (new, or opened for a resume).
func New(cfg Config, j *Journal, d fidokey.Devices, g Graph, p officer.Prompter) (*Engine, error) {
	if cfg.Keys == 0 {
		cfg.Keys = 2
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DisplayName == nil {
		cfg.DisplayName = func(slot int, model string, date time.Time) string {
			if len(model) > 30 {
				model = model[:30]
			}
			return fmt.Sprintf("Break glass key %d (%s, %s)", slot, model, date.Format("2006-01-02"))
		}
	}
	if cfg.OfficerA == "" || cfg.OfficerB == "" || cfg.OfficerA == cfg.OfficerB {
		return nil, errors.New("a ceremony needs two different officers")
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
	if first := e.journal.Entries(); len(first) > 0 {
		e.started = first[0].Time
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
	var keys []report.Key
	for slot := 1; slot <= e.cfg.Keys; slot++ {
		k, err := e.provision(ctx, slot)
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
		_ = e.journal.Append("preflight", "failed", map[string]string{"error": err.Error()})
		return fmt.Errorf("preflight: %w", err)
	}
	if u.OnPremisesSyncEnabled != nil && *u.OnPremisesSyncEnabled {
		e.prompt.Progress("preflight", "WARNING: the account is synced from on-premises; a break-glass account should be cloud-only")
	}
	by, err := e.confirmBoth(ctx, fmt.Sprintf("start the ceremony for %s with %d keys", u.UPN, e.cfg.Keys))
	if err != nil {
		return err
	}
	e.prompt.Progress("preflight", fmt.Sprintf("account %s (%s), policy %q", u.UPN, u.ID, e.cfg.Verifier.Policy.Name))
	return e.journal.Append("preflight", "done", map[string]string{"user_id": u.ID, "upn": u.UPN, "confirmed_by": strings.Join(by, ", ")})
}

// openSlot asks for key slot alone to be plugged in, and opens it.
func (e *Engine) openSlot(ctx context.Context, slot int, kind, text string) (ctap.Authenticator, io.Closer, error) {
	return fidokey.OpenAlone(ctx, e.devices, e.prompt, officer.Instruction{Kind: kind, Slot: slot, Text: text})
}

// pin asks both officers for their halves of key slot's PIN (zero it).
func (e *Engine) pin(ctx context.Context, slot int, newPIN bool) ([]byte, error) {
	return officer.SplitPIN(ctx, e.prompt, slot, e.cfg.OfficerA, e.cfg.OfficerB, newPIN)
}

// provision runs the per-key steps, skipping what the journal says is done.
func (e *Engine) provision(ctx context.Context, slot int) (report.Key, error) {
	step := func(s string) string { return fmt.Sprintf("key%d/%s", slot, s) }
	if d, ok := e.journal.done(step("tested")); ok {
		var k report.Key
		err := json.Unmarshal([]byte(d["report_key"]), &k)
		return k, err
	}
	auth, closer, err := e.openSlot(ctx, slot, officer.Insert, fmt.Sprintf("%s: insert key %d now (and no other key)", e.cfg.OfficerA, slot))
	if err != nil {
		return report.Key{}, err
	}
	defer func() { closer.Close() }()
	info, err := auth.Info(ctx)
	if err != nil {
		return report.Key{}, err
	}
	fw := ""
	if info.FirmwareVersion != nil {
		fw = ctap.FormatFirmware(*info.FirmwareVersion)
	}
	e.prompt.Progress(step("insert"), fmt.Sprintf("AAGUID %s, firmware %s (%s)", info.AAGUID, fw, info.FirmwareSource))
	_ = e.journal.Append(step("insert"), "note", map[string]string{"aaguid": info.AAGUID.String(), "firmware": fw})

	// Reset: destructive, only in the power-up window, checked on resume.
	if _, done := e.journal.done(step("reset")); e.cfg.Reset && !done {
		if e.journal.begun(step("reset")) {
			if set, _ := info.Option("clientPin"); !set {
				_ = e.journal.Append(step("reset"), "done", map[string]string{"reconciled": "key has no PIN: the reset had happened"})
				goto pinStep
			}
		}
		by, err := e.confirmBoth(ctx, fmt.Sprintf("reset key %d (erases everything on it)", slot))
		if err != nil {
			return report.Key{}, err
		}
		closer.Close()
		auth, closer, err = e.openSlot(ctx, slot, officer.Replug, fmt.Sprintf("Unplug key %d, plug it back in, then confirm at once: the key accepts a reset only within 10 seconds", slot))
		if err != nil {
			return report.Key{}, err
		}
		if err := e.journal.Append(step("reset"), "begin", map[string]string{"confirmed_by": strings.Join(by, ", ")}); err != nil {
			return report.Key{}, err
		}
		if err := auth.Reset(ctx); err != nil {
			_ = e.journal.Append(step("reset"), "failed", map[string]string{"error": err.Error()})
			return report.Key{}, err
		}
		if err := e.journal.Append(step("reset"), "done", map[string]string{"confirmed_by": strings.Join(by, ", ")}); err != nil {
			return report.Key{}, err
		}
		e.prompt.Progress(step("reset"), "erased")
		if info, err = auth.Info(ctx); err != nil {
			return report.Key{}, err
		}
	}
pinStep:
	info, err = auth.Info(ctx)
	if err != nil {
		return report.Key{}, err
	}
	pinSet, _ := info.Option("clientPin")
	var pin []byte
	if !pinSet {
		by, err := e.confirmBoth(ctx, fmt.Sprintf("set the PIN of key %d from your two halves", slot))
		if err != nil {
			return report.Key{}, err
		}
		if pin, err = e.pin(ctx, slot, true); err != nil {
			return report.Key{}, err
		}
		if err := e.journal.Append(step("pin"), "begin", map[string]string{"confirmed_by": strings.Join(by, ", ")}); err != nil {
			return report.Key{}, err
		}
		if err := auth.SetPIN(ctx, pin); err != nil {
			ctap.Zero(pin)
			_ = e.journal.Append(step("pin"), "failed", map[string]string{"error": err.Error()})
			return report.Key{}, err
		}
		_ = e.journal.Append(step("pin"), "done", map[string]string{"split": "true"})
		e.prompt.Progress(step("pin"), "PIN set from two halves")
	} else {
		if e.journal.begun(step("pin")) {
			_ = e.journal.Append(step("pin"), "done", map[string]string{"reconciled": "the key has a PIN: it was set before the interruption", "split": "true"})
		}
		if pin, err = e.pin(ctx, slot, false); err != nil {
			return report.Key{}, err
		}
	}
	defer ctap.Zero(pin)
	if e.cfg.MinPINLength > 0 && info.MinPINLength < e.cfg.MinPINLength {
		if ok, _ := info.Option("setMinPINLength"); ok {
			tok, err := auth.GetPINToken(ctx, pin, ctap.TokenRequest{Permissions: ctap.PermAuthenticatorConfig})
			if err != nil {
				return report.Key{}, err
			}
			err = auth.SetMinPINLength(ctx, tok, e.cfg.MinPINLength, false)
			tok.Zero()
			switch {
			case errors.Is(err, ctap.ErrUnsupported):
				if err := e.deviate(step("minpin"), fmt.Sprintf("key %d: minimum PIN length %d not applied: %v", slot, e.cfg.MinPINLength, err)); err != nil {
					return report.Key{}, err
				}
			case err != nil:
				return report.Key{}, err
			}
		} else if err := e.deviate(step("minpin"), fmt.Sprintf("key %d: minimum PIN length %d not applied: the key has no authenticatorConfig setMinPINLength", slot, e.cfg.MinPINLength)); err != nil {
			return report.Key{}, err
		}
	}

	k, err := e.createAndEnroll(ctx, slot, auth, info, pin)
	if err != nil {
		return report.Key{}, err
	}
	if err := e.testAssertion(ctx, slot, auth, pin, &k); err != nil {
		return report.Key{}, err
	}
	if k.PINRetries, _, err = auth.PINRetries(ctx); err != nil {
		return report.Key{}, err
	}
	if info, err = auth.Info(ctx); err == nil {
		k.MinPINLength, k.ForcePINChange = info.MinPINLength, info.ForcePINChange
	}
	kb, _ := json.Marshal(k)
	if err := e.journal.Append(step("tested"), "done", map[string]string{"report_key": string(kb)}); err != nil {
		return report.Key{}, err
	}
	return k, nil
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

// createAndEnroll creates the credential, judges its attestation and
// registers it, adopting a registration that an interrupted run made.
func (e *Engine) createAndEnroll(ctx context.Context, slot int, auth ctap.Authenticator, info *ctap.Info, pin []byte) (report.Key, error) {
	step := func(s string) string { return fmt.Sprintf("key%d/%s", slot, s) }
	if d, ok := e.journal.done(step("enroll")); ok {
		var k report.Key
		err := json.Unmarshal([]byte(d["report_key"]), &k)
		return k, err
	}
	if e.journal.begun(step("enroll")) {
		// The POST may have happened before the interruption: look.
		if c, ok := e.journal.done(step("created")); ok {
			var k report.Key
			if err := json.Unmarshal([]byte(c["report_key"]), &k); err == nil {
				list, err := e.graph.ListFIDO2(ctx, e.user.ID)
				if err != nil {
					return report.Key{}, err
				}
				for _, m := range list {
					if m.DisplayName == k.DisplayName {
						k.GraphMethodID = m.ID
						kb, _ := json.Marshal(k)
						_ = e.journal.Append(step("enroll"), "done", map[string]string{"method_id": m.ID, "reconciled": "found in Graph", "report_key": string(kb)})
						e.prompt.Progress(step("enroll"), "the earlier registration had gone through: adopted, not repeated")
						return k, nil
					}
				}
			}
		}
	}
	opts, err := e.graph.CreationOptions(ctx, e.user.ID, 0)
	if err != nil {
		return report.Key{}, err
	}
	tok, err := auth.GetPINToken(ctx, pin, ctap.TokenRequest{Permissions: ctap.PermMakeCredential | ctap.PermGetAssertion, RPID: enroll.RPID})
	if err != nil {
		return report.Key{}, err
	}
	defer tok.Zero()
	cd := opts.ClientDataJSON()
	mc, err := opts.MakeCredential(cd, tok)
	if err != nil {
		return report.Key{}, err
	}
	e.prompt.Progress(step("create"), "touch the key to create the credential")
	res, err := auth.MakeCredential(ctx, mc)
	if err != nil {
		return report.Key{}, err
	}
	in, err := attest.InputFromMakeCredential(res, cd, info.FirmwareVersion)
	if err != nil {
		return report.Key{}, err
	}
	challenge, _ := base64.RawURLEncoding.DecodeString(strings.TrimRight(opts.PublicKey.Challenge, "="))
	v, err := e.cfg.Verifier.Verify(in, attest.Expect{RPID: enroll.RPID, Origin: enroll.Origin, Challenge: challenge})
	if err != nil {
		return report.Key{}, err
	}
	if !v.Allowed {
		var reasons []string
		for _, r := range v.Reasons {
			reasons = append(reasons, r.Message)
		}
		_ = e.journal.Append(step("attest"), "failed", map[string]string{"reasons": strings.Join(reasons, "; ")})
		return report.Key{}, fmt.Errorf("attestation refused: %s", strings.Join(reasons, "; "))
	}
	e.prompt.Progress(step("attest"), fmt.Sprintf("%s, chains to %s", v.Model, v.Root.Subject))
	ad, err := ctap.ParseAuthData(res.AuthData)
	if err != nil {
		return report.Key{}, err
	}
	ck, err := ctap.ParseCOSEKey(ad.CredentialKey)
	if err != nil {
		return report.Key{}, err
	}
	pub, err := ck.PublicKey()
	if err != nil {
		return report.Key{}, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return report.Key{}, err
	}
	certSum := ""
	if len(v.Chain) > 0 {
		certSum = v.Chain[0].SHA256
	}
	k := report.Key{
		Slot: slot, AAGUID: ad.AAGUID.String(), Model: v.Model, Firmware: v.Firmware, FirmwareSource: info.FirmwareSource,
		CredentialID:  base64.RawURLEncoding.EncodeToString(ad.CredentialID),
		PublicKeyCOSE: base64.RawURLEncoding.EncodeToString(ad.CredentialKey),
		PublicKeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		Attestation:   v, PINSet: true, PINSplit: true, AttestationCert: certSum,
		DisplayName: e.cfg.DisplayName(slot, v.Model, e.cfg.Now()),
	}
	kb, _ := json.Marshal(k)
	if err := e.journal.Append(step("created"), "done", map[string]string{"credential_id": k.CredentialID, "report_key": string(kb)}); err != nil {
		return report.Key{}, err
	}
	by, err := e.confirmBoth(ctx, fmt.Sprintf("register key %d as %q on %s", slot, k.DisplayName, e.user.UPN))
	if err != nil {
		return report.Key{}, err
	}
	if err := e.journal.Append(step("enroll"), "begin", map[string]string{"display_name": k.DisplayName, "confirmed_by": strings.Join(by, ", ")}); err != nil {
		return report.Key{}, err
	}
	m, err := e.graph.Register(ctx, e.user.ID, k.DisplayName, enroll.Credential{ID: ad.CredentialID, ClientDataJSON: cd, AttestationObject: in.AttestationObject,
		AAGUID: k.AAGUID, ClientExtensionResults: map[string]any{"hmacCreateSecret": mc.HMACSecret}})
	if err != nil {
		_ = e.journal.Append(step("enroll"), "failed", map[string]string{"error": err.Error()})
		return report.Key{}, err
	}
	back, err := e.graph.GetFIDO2(ctx, e.user.ID, m.ID)
	if err != nil {
		return report.Key{}, fmt.Errorf("read back: %w", err)
	}
	if !strings.EqualFold(back.AAGUID, k.AAGUID) {
		return report.Key{}, fmt.Errorf("Entra records AAGUID %s for the new method, the key is %s", back.AAGUID, k.AAGUID)
	}
	k.GraphMethodID = m.ID
	kb, _ = json.Marshal(k)
	if err := e.journal.Append(step("enroll"), "done", map[string]string{"method_id": m.ID, "report_key": string(kb)}); err != nil {
		return report.Key{}, err
	}
	e.prompt.Progress(step("enroll"), fmt.Sprintf("registered as %q (method %s)", k.DisplayName, m.ID))
	return k, nil
}

// testAssertion signs a fresh challenge with the new credential and checks
// the signature against the recorded public key.
func (e *Engine) testAssertion(ctx context.Context, slot int, auth ctap.Authenticator, pin []byte, k *report.Key) error {
	credID, err := base64.RawURLEncoding.DecodeString(k.CredentialID)
	if err != nil {
		return err
	}
	cose, err := base64.RawURLEncoding.DecodeString(k.PublicKeyCOSE)
	if err != nil {
		return err
	}
	tok, err := auth.GetPINToken(ctx, pin, ctap.TokenRequest{Permissions: ctap.PermGetAssertion, RPID: enroll.RPID})
	if err != nil {
		return err
	}
	defer tok.Zero()
	sum := sha256.Sum256([]byte(fmt.Sprintf("keyceremony test assertion key %d %s", slot, e.cfg.Now().UTC().Format(time.RFC3339Nano))))
	as, err := auth.GetAssertion(ctx, ctap.GetAssertionOptions{RPID: enroll.RPID, ClientDataHash: sum[:], Token: tok,
		AllowList: []ctap.CredentialDescriptor{{Type: "public-key", ID: credID}}})
	if err != nil {
		return fmt.Errorf("test assertion: %w", err)
	}
	if err := ctap.VerifySignature(cose, as[0].AuthData, sum[:], as[0].Signature); err != nil {
		return fmt.Errorf("test assertion: %w", err)
	}
	ad, _ := ctap.ParseAuthData(as[0].AuthData)
	k.AssertionCount = ad.SignCount
	e.prompt.Progress(fmt.Sprintf("key%d/test", slot), fmt.Sprintf("signature verified with the recorded public key (counter %d)", ad.SignCount))
	return nil
}

// retire deletes the account's other FIDO2 methods, only after both new
// keys verified and with both officers' confirmation.
func (e *Engine) retire(ctx context.Context, keys []report.Key) ([]report.Retired, error) {
	if !e.cfg.Retire {
		return nil, nil
	}
	if d, ok := e.journal.done("retire"); ok {
		var r []report.Retired
		err := json.Unmarshal([]byte(d["retired"]), &r)
		return r, err
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
					_ = e.journal.Append(s, "failed", map[string]string{"error": err.Error()})
					return nil, err
				}
				_ = e.journal.Append(s, "done", nil)
			}
			e.prompt.Progress("retire", fmt.Sprintf("deleted %q", m.DisplayName))
			retired = append(retired, report.Retired{GraphMethodID: m.ID, DisplayName: m.DisplayName, AAGUID: m.AAGUID, Created: m.Created.UTC().Format(time.RFC3339)})
		}
	}
	rb, _ := json.Marshal(retired)
	return retired, e.journal.Append("retire", "done", map[string]string{"retired": string(rb)})
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
		Type: report.TypeCeremony, Rehearsal: e.cfg.Rehearsal, CeremonyID: "kc-" + e.started.Format("20060102-150405"),
		Started: e.started, Ended: e.cfg.Now().UTC(),
		Tenant:      report.Tenant{ID: e.cfg.TenantID, Domain: e.cfg.Domain},
		Account:     report.Account{UPN: e.user.UPN, ObjectID: e.user.ID},
		Officers:    []report.Person{{Role: "officer-a", Name: e.cfg.OfficerA}, {Role: "officer-b", Name: e.cfg.OfficerB}},
		Workstation: report.Workstation{Hostname: e.cfg.Hostname}, Tool: e.cfg.Tool,
		Policy: &report.PolicyRef{Name: e.cfg.Verifier.Policy.Name, SHA256: e.cfg.Verifier.Policy.SHA256()},
		Keys:   keys, Retired: retired, Steps: stepsFromJournal(e.journal.Entries()),
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
	for _, en := range e.journal.Entries() {
		if d := en.Data["deviation"]; d != "" && !slices.Contains(r.Deviations, d) {
			r.Deviations = append(r.Deviations, d)
		}
		if en.Phase == "done" && en.Data["reconciled"] != "" {
			r.Deviations = append(r.Deviations, fmt.Sprintf("%s resumed after an interruption: %s", en.Step, en.Data["reconciled"]))
		}
	}
	w, err := report.Write(e.cfg.OutDir, r, e.cfg.Signer)
	if err != nil {
		return nil, err
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

package ceremony

// Key preparation and PIN: the key inserted and judged untouched, reset when
// needed, its PIN set or asked.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/envelope"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
	"github.com/keyceremony/keyceremony/officer"
)

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
	// Void records that the attestation refused this key, as the ceremony
	// does: the key is void for its slot, a resume asks for another key
	// (its steps start afresh), and the error says to replace it.
	Void func(refusal error) error
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
	e.showRepairs()
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
	return &PreparedKey{Auth: r.auth, Info: r.info, PIN: r.pin, Void: r.void, run: r}, nil
}

// insert has the officers plug key slot in alone, reads what it is, and
// sends back a key that already holds a credential of this sitting.
func (r *slotRun) insert(ctx context.Context) error {
	e := r.e
	var err error
	for n := 0; ; n++ {
		r.auth, r.closer, err = e.openSlot(
			ctx,
			r.slot,
			officer.Insert,
			fmt.Sprintf("%s: insert key %d now (and no other key)", e.cfg.OfficerA, r.slot),
		)
		if err != nil {
			return err
		}
		if r.info, err = r.auth.Info(ctx); err != nil {
			return err
		}
		refusal, err := r.refusedUntouched(ctx)
		if err != nil {
			return err
		}
		if refusal == nil {
			break
		}
		r.closer.Close()
		r.closer = nil
		if n == maxReplugs {
			return fmt.Errorf("%s, again: nothing was done to it; %s, and resume", refusal.said, refusal.fix)
		}
		e.prompt.Progress(r.step("insert"),
			fmt.Sprintf("%s: nothing was done to it. Take it out and %s", refusal.said, refusal.fix))
		if err := e.prompt.Instruct(ctx, officer.Instruction{Kind: officer.Remove, Slot: r.slot,
			Text: strings.ToUpper(refusal.said[:1]) + refusal.said[1:] + ": unplug it and put it aside"}); err != nil {
			return err
		}
	}
	fw, shown := "", "not reported"
	if r.info.FirmwareVersion != nil {
		fw, _ = ctap.FormatFirmware(r.info.AAGUID, *r.info.FirmwareVersion, r.info.FirmwareSource)
		shown = fmt.Sprintf("%s (%s)", fw, r.info.FirmwareSource)
	}
	if e.entra != nil {
		if ok, why := e.entra(r.info.AAGUID.String()); !ok {
			return fmt.Errorf(
				"Entra would not register key %d (AAGUID %s) for %s: %s; nothing was done to the key",
				r.slot,
				r.info.AAGUID,
				e.user.UPN,
				why,
			)
		}
	}
	if before, ok := e.journal.last(r.step("insert")); ok && before.Data["aaguid"] != r.info.AAGUID.String() {
		return fmt.Errorf(
			"this is not key %d: key %d is a %s model (AAGUID), this key is %s; plug in key %d",
			r.slot,
			r.slot,
			before.Data["aaguid"],
			r.info.AAGUID,
			r.slot,
		)
	}
	e.prompt.Progress(
		r.step("insert"),
		fmt.Sprintf("AAGUID %s, firmware %s", r.info.AAGUID, shown),
	)
	return e.journal.Append(
		r.step("insert"),
		"note",
		map[string]string{"aaguid": r.info.AAGUID.String(), "firmware": fw},
	)
}

// refusal is why a key offered for a slot is sent back untouched.
type refusal struct {
	said string // what the key is, e.g. "this key is key 1 of this ceremony, not key 2"
	fix  string // what the officers do, e.g. "plug in an allowed key"
}

// refusedUntouched says why the key just plugged in must not be used for
// the slot, before anything is done to it (nil: nothing against it yet):
// its getInfo model or firmware, which the policy would refuse at the
// attestation (the journal records the key sent back), or a credential of
// this sitting on it.
func (r *slotRun) refusedUntouched(ctx context.Context) (*refusal, error) {
	e := r.e
	if err := e.cfg.Verifier.Precheck(r.info.AAGUID, r.info.FirmwareVersion, r.info.FirmwareSource); err != nil {
		if jerr := e.journal.Append(r.step("refused"), "note", map[string]string{"aaguid": r.info.AAGUID.String(),
			"reason": err.Error()}); jerr != nil {
			return nil, jerr
		}
		return &refusal{said: fmt.Sprintf("key %d is %v", r.slot, err), fix: "plug in an allowed key"}, nil
	}
	if why := r.cannotServe(); why != "" {
		if jerr := e.journal.Append(r.step("refused"), "note", map[string]string{"aaguid": r.info.AAGUID.String(),
			"reason": why}); jerr != nil {
			return nil, jerr
		}
		return &refusal{said: why, fix: "plug in another key"}, nil
	}
	if why := r.notTheResetKey(); why != "" {
		return &refusal{said: why, fix: fmt.Sprintf("plug in key %d, the one you reset", r.slot)}, nil
	}
	other, err := r.alreadyProvisioned(ctx)
	if err != nil || other == "" {
		return nil, err
	}
	return &refusal{said: fmt.Sprintf("this key is %s, not key %d (it holds that key's credential)", other, r.slot),
		fix: fmt.Sprintf("insert key %d", r.slot)}, nil
}

// probeHash is the clientDataHash of the silent probe: no relying party
// ever sees the probe's signature.
var probeHash = sha256.Sum256([]byte("keyceremony: does this key already hold a credential of this sitting?"))

// alreadyProvisioned names the key of this sitting whose credential the
// inserted key holds ("" for none). It asks the key silently (getAssertion
// with the known credential IDs as allowList, up=false, no PIN), as a
// platform checks an excludeList: Entra's credentials are created with
// credProtect userVerificationOptional, which a key reveals to an
// allowList without user verification (CTAP 2.1 §12.1).
func (r *slotRun) alreadyProvisioned(ctx context.Context) (string, error) {
	e := r.e
	known := append([]KnownKey(nil), e.cfg.OtherKeys...)
	for slot := 1; slot <= e.cfg.Keys; slot++ {
		if slot == r.slot {
			continue
		}
		if en, ok := e.journal.doneEntry(e.slotStep(slot, "created")); ok && en.Key != nil {
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
		as, err := r.auth.GetAssertion(
			ctx,
			ctap.GetAssertionOptions{
				RPID:           enroll.RPID,
				ClientDataHash: probeHash[:],
				AllowList:      allow,
				UserPresence:   &up,
			},
		)
		switch {
		case errors.Is(err, ctap.ErrNoCredentials):
			continue
		case errors.Is(err, hid.ErrDeviceGone) || ctx.Err() != nil:
			return "", err
		case err != nil:
			// The key would not say (an alwaysUv key may refuse a silent
			// request): the officers check by hand, and the report says so.
			if derr := e.deviate(r.step("probe"), fmt.Sprintf(
				"key %d would not say whether it already holds a credential of this sitting (%v): "+
					"the officers checked it is none of the keys already done", r.slot, err)); derr != nil {
				return "", derr
			}
			if _, cerr := e.confirmBoth(ctx, fmt.Sprintf(
				"the key in the slot for key %d is none of the %d key(s) already provisioned in this sitting",
				r.slot, len(known))); cerr != nil {
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
			return e.journal.Append(step, "done", r.interruptedReset())
		}
	}
	if err := resetTransport(r.info, r.slot); err != nil {
		return err
	}
	pinBefore, _ := r.info.Option("clientPin")
	by, err := e.confirmBoth(ctx, fmt.Sprintf("reset key %d (erases everything on it)", r.slot))
	if err != nil {
		return err
	}
	r.closer.Close()
	r.auth, r.closer, err = e.openSlot(ctx, r.slot, officer.Replug, resetInstruction(r.info, r.slot, false))
	if err != nil {
		return err
	}
	for late := 0; ; late++ {
		begin := map[string]string{"confirmed_by": strings.Join(by, ", "), "pin_before": fmt.Sprint(pinBefore)}
		if err := e.journal.Append(step, "begin", begin); err != nil {
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
		r.auth, r.closer, err = e.openSlot(ctx, r.slot, officer.Replug, resetInstruction(r.info, r.slot, true))
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

// interruptedReset is what the journal records of a reset that began and
// was never recorded done, on a key that has no PIN now: only what can be
// known, for the report is a legal record. A key that had a PIN when the
// reset began and has none now was reset (only a reset removes a PIN); a
// key that had none (a fresh key) may or may not have been: its reset
// state is unknown, and the report's step says so.
func (r *slotRun) interruptedReset() map[string]string {
	for _, en := range slices.Backward(r.e.journal.recorded()) {
		if en.Step == r.step("reset") && en.Phase == "begin" {
			if en.Data["pin_before"] == "true" {
				return map[string]string{"reconciled": "the key had a PIN when the reset began and has none now: " +
					"the reset happened"}
			}
			break
		}
	}
	return map[string]string{"reconciled": "reset state unknown; the key has no PIN", "outcome": "unknown"}
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
		if err := e.journal.Append(step, "done", map[string]string{
			"reconciled": "the key has a PIN: it was set before the interruption", "split": "true"}); err != nil {
			return err
		}
	}
	if r.info.ForcePINChange {
		return r.changePIN(ctx, r.step("pin-change"), "demands a new PIN (forcePINChange)", nil)
	}
	if r.pin, err = r.askPIN(ctx); err != nil {
		return err
	}
	// A kept PIN shorter than the policy's minimum is changed now: applying
	// the minimum to the key (CTAP 2.2 §6.11.4 setMinPINLength) would leave
	// it demanding a change with this PIN on it, refusing every token.
	if n := utf8.RuneCount(r.pin); n < e.cfg.MinPINLength {
		current := r.pin
		r.pin = nil
		defer clear(current)
		return r.changePIN(ctx, r.step("pin-change"), fmt.Sprintf("has a PIN of %d characters, "+
			"shorter than the policy's minimum of %d", n, e.cfg.MinPINLength), current)
	}
	return nil
}

// setPIN sets a new PIN from the officers' halves.
func (r *slotRun) setPIN(ctx context.Context, step string) error {
	e := r.e
	action := fmt.Sprintf(
		"set the PIN of key %d from two halves: each of you types one, and no one sees the other's",
		r.slot,
	)
	if e.cfg.GeneratedPIN {
		action = fmt.Sprintf(
			"set the PIN of key %d to a generated one, printed in two halves, one for each of you to seal",
			r.slot,
		)
	}
	by, err := e.confirmBoth(ctx, action)
	if err != nil {
		return err
	}
	if err := r.sendNewPIN(ctx, step, by, func(pin []byte) error { return r.auth.SetPIN(ctx, pin) }); err != nil {
		return err
	}
	if err := e.journal.Append(step, "done", map[string]string{"split": e.pinHalves()}); err != nil {
		return err
	}
	e.prompt.Progress(
		step,
		map[bool]string{false: "PIN set from two halves",
			true: "PIN set from two generated halves"}[e.cfg.GeneratedPIN],
	)
	return nil
}

// changePIN replaces the PIN of a key that demands a new one (why: what
// the key is, e.g. "demands a new PIN (forcePINChange)"): the officers give
// the halves of the PIN it has (unless current, already checked, is given),
// then the new halves.
func (r *slotRun) changePIN(ctx context.Context, step, why string, current []byte) error {
	e := r.e
	then := "first the halves of its PIN now, then new halves"
	if current != nil {
		then = "both of you, type new halves"
	}
	e.prompt.Progress(step, fmt.Sprintf("key %d %s: %s", r.slot, why, then))
	by, err := e.confirmBoth(ctx, fmt.Sprintf("change the PIN of key %d, which %s", r.slot, why))
	if err != nil {
		return err
	}
	if current == nil { // checked as any PIN asked, a slip asked again
		if current, err = r.askPIN(ctx); err != nil {
			return err
		}
		defer clear(current)
	}
	if err := r.sendNewPIN(ctx, step, by, func(pin []byte) error {
		return r.auth.ChangePIN(ctx, current, pin, 0)
	}); err != nil {
		return err
	}
	if err := e.journal.Append(step, "done", map[string]string{"split": e.pinHalves()}); err != nil {
		return err
	}
	e.prompt.Progress(
		step,
		map[bool]string{false: "PIN changed from two new halves",
			true: "PIN changed to one from two new generated halves"}[e.cfg.GeneratedPIN],
	)
	return nil
}

// sendNewPIN asks the new PIN's halves (newPIN) and sends it with send
// (setPIN or changePIN), journaled begun by the officers by. A key that
// refuses it with PIN_POLICY_VIOLATION keeps the PIN it had (CTAP 2.2
// §6.5.5.5 setPIN, §6.5.5.6 changePIN): its rules may go beyond what
// getInfo says, so typed halves are asked again (no retry is spent: a
// changePIN's current PIN matched); generated ones were sealed, and stop
// the step.
func (r *slotRun) sendNewPIN(ctx context.Context, step string, by []string, send func(pin []byte) error) error {
	e := r.e
	for attempt := 1; ; attempt++ {
		var err error
		if r.pin, err = r.newPIN(ctx); err != nil {
			return err
		}
		begin := map[string]string{"confirmed_by": strings.Join(by, ", ")}
		if err := e.journal.Append(step, "begin", begin); err != nil {
			return err
		}
		err = send(r.pin)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ctapwire.StatusPINPolicyViolation) || e.cfg.GeneratedPIN || attempt == maxPINAttempts {
			return e.failed(step, err)
		}
		clear(r.pin)
		r.pin = nil
		if jerr := e.journal.Append(step, "failed", map[string]string{"error": err.Error()}); jerr != nil {
			return jerr
		}
		e.prompt.Progress(step, fmt.Sprintf("key %d refused the new PIN (its PIN policy, beyond what its getInfo "+
			"says: CTAP2_ERR_PIN_POLICY_VIOLATION); its PIN is as it was and no retry was spent: both officers, "+
			"type new halves, avoiding repeated digits, runs, common PINs and the PIN it has", r.slot))
	}
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
	if err := pinLengthFits(r.info, r.slot, minLen); err != nil {
		return nil, err
	}
	e.prompt.Progress(r.step("pin"), fmt.Sprintf(
		"the new PIN must have at least %d characters (policy %d, key %s)%s: each officer types one half",
		minLen, e.cfg.MinPINLength, r.info.MinPINLengthText(), pinRulesText(r.info)))
	for range maxPINAttempts {
		pin, err := e.pin(ctx, r.slot, true)
		if err != nil {
			return nil, err
		}
		verr := ctap.ValidatePIN(pin, r.info, minLen)
		if verr == nil {
			return pin, nil
		}
		clear(pin)
		e.prompt.Progress(
			r.step("pin"),
			fmt.Sprintf("the joined PIN is not accepted (%v): both officers, type your halves again", verr),
		)
	}
	return nil, fmt.Errorf(
		"key %d: no acceptable PIN after %d attempts (at least %d characters)",
		r.slot,
		maxPINAttempts,
		minLen,
	)
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
	length, err := generatedLength(r.info, r.slot, minLen)
	if err != nil {
		return nil, err
	}
	// Checked before a page is printed: a refused PIN would void its pages.
	// A draw the key's complexity policy would refuse (one digit repeated,
	// a run) is drawn again.
	pin, err := drawPIN(r.info, length, minLen)
	if err != nil {
		return nil, fmt.Errorf("key %d: the generated PIN: %w", r.slot, err)
	}
	e.prompt.Progress(
		r.step("pin"),
		fmt.Sprintf(
			"%s %d-digit PIN was drawn for key %d: "+
				"each half is printed on its own page for its own envelope, and shown nowhere",
			article(length),
			length,
			r.slot,
		),
	)
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
		if err := e.prompt.Confirm(ctx, part.officer, fmt.Sprintf(
			"take the page with PIN half %s of key %d from the printer, "+
				"seal it in your envelope and sign across the flap", part.name, r.slot)); err != nil {
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
		return e.deviate(
			step,
			fmt.Sprintf(
				"key %d: minimum PIN length %d not applied: the key has no authenticatorConfig setMinPINLength",
				r.slot,
				want,
			),
		)
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

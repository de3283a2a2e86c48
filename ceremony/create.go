package ceremony

// Create and enroll: the credential made, judged as Entra will, registered,
// and tested with an assertion.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/internal/keystep"
	"github.com/keyceremony/keyceremony/report"
)

// adoptEarlierRegistration looks, after an interrupted POST, whether the
// registration went through; if so it is recorded and returned. Graph
// lists a method without its credential ID, so a method is adopted only
// when everything that can be checked holds: its display name, this key's
// AAGUID, created no earlier than the interrupted registration began, and
// the key plugged in holds the credential the journal recorded (a silent
// test assertion). A method with this name that fails a check is a
// conflict named to the officers; nothing is registered over it.
func (r *slotRun) adoptEarlierRegistration(ctx context.Context) (*report.Key, error) {
	e := r.e
	c, ok := e.journal.doneEntry(r.step("created"))
	if !ok || c.Key == nil || !e.journal.begun(r.step("enroll")) {
		return nil, nil
	}
	k := *c.Key
	id, err := base64.RawURLEncoding.DecodeString(k.CredentialID)
	if err != nil {
		return nil, fmt.Errorf("the journal's record of key %d: %w", r.slot, err)
	}
	// Asked with the credential only, Register adopts by credential (ID and
	// AAGUID), never by display name alone, and posts nothing; a method of
	// this name for another credential is a conflict it names.
	m, err := e.graph.Register(ctx, e.user.ID, k.DisplayName, enroll.Credential{ID: id, AAGUID: k.AAGUID})
	if errors.Is(err, enroll.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if err := r.sameKeyAsCreated(ctx); err != nil {
		return nil, fmt.Errorf("before adopting method %s as key %d's registration: %w", m.ID, r.slot, err)
	}
	k.GraphMethodID = m.ID
	data := map[string]string{"method_id": m.ID, "credential_id": k.CredentialID,
		"reconciled": fmt.Sprintf("found in Graph (method %s, AAGUID %s); the key holds credential %s",
			m.ID, m.AAGUID, k.CredentialID)}
	if err := e.journal.appendKey(r.step("enroll"), "done", data, &k); err != nil {
		return nil, err
	}
	e.prompt.Progress(r.step("enroll"),
		"the earlier registration had gone through: adopted, not repeated (the key holds its credential)")
	return &k, nil
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
		return fmt.Errorf(
			"this is not the key %d that created credential %s: plug in that key",
			r.slot,
			c.Key.CredentialID,
		)
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
	tok, err := r.auth.GetPINToken(
		ctx,
		r.pin,
		ctap.TokenRequest{Permissions: ctap.PermMakeCredential | ctap.PermGetAssertion, RPID: enroll.RPID},
	)
	if err != nil {
		return report.Key{}, err
	}
	defer tok.Zero()
	e.prompt.Progress(r.step("create"), "touch the key to create the credential")
	c, err := keystep.CreateForEntra(ctx, r.auth, opts, tok, r.info, e.cfg.Verifier)
	if err != nil {
		return report.Key{}, err
	}
	v := c.Verdict
	if !v.Allowed {
		return report.Key{}, r.void(keystep.Refusal(v))
	}
	e.prompt.Progress(r.step("attest"), fmt.Sprintf("%s, chains to %s", v.Model, v.Root.Subject))
	certSum := ""
	if len(v.Chain) > 0 {
		certSum = v.Chain[0].SHA256
	}
	k := report.Key{
		Slot: slot, AAGUID: c.AuthData.AAGUID.String(), Model: v.Model,
		Firmware: v.Firmware, FirmwareSource: r.info.FirmwareSource,
		CredentialID:  base64.RawURLEncoding.EncodeToString(c.AuthData.CredentialID),
		PublicKeyCOSE: base64.RawURLEncoding.EncodeToString(c.AuthData.CredentialKey),
		PublicKeyPEM:  c.PublicKeyPEM,
		Attestation: keystep.Record(
			v,
		), PINSet: true, PINSplit: true, PINGenerated: e.cfg.GeneratedPIN, AttestationCert: certSum,
		DisplayName: e.cfg.DisplayName(slot, v.Model, e.cfg.Now()),
	}
	if err := e.journal.appendKey(r.step("created"), "done",
		map[string]string{"credential_id": k.CredentialID}, &k); err != nil {
		return report.Key{}, err
	}
	by, err := e.confirmBoth(ctx, fmt.Sprintf("register key %d as %q on %s", slot, k.DisplayName, e.user.UPN))
	if err != nil {
		return report.Key{}, err
	}
	if err := e.journal.Append(r.step("enroll"), "begin", map[string]string{
		"display_name": k.DisplayName, "confirmed_by": strings.Join(by, ", ")}); err != nil {
		return report.Key{}, err
	}
	m, err := e.graph.Register(
		ctx,
		e.user.ID,
		k.DisplayName,
		enroll.Credential{ID: c.AuthData.CredentialID, ClientDataJSON: c.ClientDataJSON,
			AttestationObject: c.AttestationObject, AAGUID: k.AAGUID,
			ClientExtensionResults: map[string]any{"hmacCreateSecret": c.HMACSecret}},
	)
	if err != nil {
		return report.Key{}, e.failed(r.step("enroll"), err)
	}
	back, err := e.graph.GetFIDO2(ctx, e.user.ID, m.ID)
	if err != nil {
		return report.Key{}, fmt.Errorf("read back: %w", err)
	}
	if !strings.EqualFold(back.AAGUID, k.AAGUID) {
		return report.Key{}, fmt.Errorf(
			"Entra records AAGUID %s for the new method, the key is %s",
			back.AAGUID,
			k.AAGUID,
		)
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
	count, err := keystep.TestAssertion(
		ctx,
		r.auth,
		tok,
		credID,
		cose,
		fmt.Sprintf("keyceremony test assertion key %d", r.slot),
		r.e.cfg.Now(),
	)
	if errors.Is(err, ctap.ErrNoCredentials) || errors.Is(err, keystep.ErrAssertionMismatch) {
		return fmt.Errorf(
			"this is not the key %d that created credential %s (test assertion: %v): plug in that key",
			r.slot,
			k.CredentialID,
			err,
		)
	}
	if err != nil {
		return fmt.Errorf("test assertion: %w", err)
	}
	k.AssertionCount = count
	r.e.prompt.Progress(
		r.step("test"),
		fmt.Sprintf("signature verified with the recorded public key (counter %d)", count),
	)
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

package offline

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/envelope"
	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/internal/keyname"
	"github.com/keyceremony/keyceremony/internal/keystep"
	"github.com/keyceremony/keyceremony/officer"
	"github.com/keyceremony/keyceremony/sigfile"
)

// Namespaces and kinds of the two files.
const (
	namespaceOptions = "keyceremony-offline-options"
	namespaceResults = "keyceremony-offline-results"
	kindOptions      = "keyceremony-offline-options/1"
	kindResults      = "keyceremony-offline-results/1"
)

// optionsFile is what the connected machine sends to the workstation.
type optionsFile struct {
	Kind     string       `json:"kind"`
	TenantID string       `json:"tenant_id"`
	UserID   string       `json:"user_id"`
	UPN      string       `json:"upn"`
	Created  time.Time    `json:"created"`
	Keys     []keyOptions `json:"keys"`
}

// keyOptions are the creation options for one key slot.
type keyOptions struct {
	Slot        int                    `json:"slot"`
	DisplayName string                 `json:"display_name"`
	Options     enroll.CreationOptions `json:"options"`
}

// resultsFile is what the workstation sends back.
type resultsFile struct {
	Kind          string      `json:"kind"`
	OptionsSHA256 string      `json:"options_sha256"` // the options file payload these answer
	UserID        string      `json:"user_id"`
	Created       time.Time   `json:"created"`
	Credentials   []keyResult `json:"credentials"`
	// Rehearsal: made by offline create --rehearsal (virtual keys, the
	// simkey TEST root trusted); register refuses it unless it rehearses.
	Rehearsal bool `json:"rehearsal,omitempty"`
}

// keyResult is one created credential.
type keyResult struct {
	Slot              int            `json:"slot"`
	DisplayName       string         `json:"display_name"`
	AAGUID            string         `json:"aaguid"`
	CredentialID      string         `json:"credential_id"`      // base64url
	ClientDataJSON    string         `json:"client_data_json"`   // base64url
	AttestationObject string         `json:"attestation_object"` // base64url
	Extensions        map[string]any `json:"client_extension_results,omitempty"`
	// Attestation is the workstation's verdict under the ceremony's
	// policy, the same verifier as the connected ceremony's.
	Attestation *attest.Verdict `json:"attestation"`
}

// file is the on-disk form: the exact payload bytes, their signature and
// the signer's public key.
type file struct {
	Payload   string `json:"payload"` // base64 of the signed JSON bytes
	Signature string `json:"signature"`
	Signer    string `json:"signer"` // OpenSSH authorized_keys line
}

// trustedKey names the key a reader accepts: a public key or its SHA256 fingerprint.
type trustedKey struct {
	PublicKey   ssh.PublicKey
	Fingerprint string // e.g. SHA256:abc… as printed by the other machine
}

// errUntrusted is wrapped when a file is signed by a key that is not trusted.
var errUntrusted = errors.New("the file is signed by a key this machine does not trust (swapped file?)")

// writeFile signs v's JSON with key in namespace and writes the file (0600).
func writeFile(path string, v any, namespace string, key crypto.Signer) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return err
	}
	sig, err := sigfile.Sign(payload, key, namespace)
	if err != nil {
		return err
	}
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(file{Payload: base64.StdEncoding.EncodeToString(payload), Signature: string(sig),
		Signer: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))}, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(b, '\n'), func(dir, pattern string) (tempFile, error) {
		return os.CreateTemp(dir, pattern)
	})
}

// tempFile is the temporary file writeAtomic writes (an *os.File; in tests
// one that fails as a full disk does).
type tempFile interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
}

// writeAtomic writes b to path whole or not at all: a temporary file in
// the same folder, fsync'd, renamed over path, the folder fsync'd. On a
// failure (a full disk) the temporary file is removed and path is as it
// was: never a 0-byte or cut file.
func writeAtomic(path string, b []byte, create func(dir, pattern string) (tempFile, error)) error {
	dir := filepath.Dir(path)
	f, err := create(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// readFile verifies a file against trust and decodes its payload into v. It
// returns the payload bytes (whose hash the results file names).
func readFile(path, namespace string, trust trustedKey, v any) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: not an offline bundle: %w", path, err)
	}
	signer, _, _, _, err := ssh.ParseAuthorizedKey([]byte(f.Signer))
	if err != nil {
		return nil, fmt.Errorf("%s: signer key: %w", path, err)
	}
	switch {
	case trust.PublicKey != nil && ssh.FingerprintSHA256(trust.PublicKey) != ssh.FingerprintSHA256(signer),
		trust.PublicKey == nil && (trust.Fingerprint == "" || trust.Fingerprint != ssh.FingerprintSHA256(signer)):
		return nil, fmt.Errorf("%s: %w: signed by %s", path, errUntrusted, ssh.FingerprintSHA256(signer))
	}
	payload, err := base64.StdEncoding.DecodeString(f.Payload)
	if err != nil {
		return nil, fmt.Errorf("%s: payload: %w", path, err)
	}
	if err := sigfile.Verify(payload, []byte(f.Signature), signer, namespace); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return nil, fmt.Errorf("%s: payload: %w", path, err)
	}
	return payload, nil
}

// fetchOptions fetches creation options for n keys with the beta long challenge.
func fetchOptions(
	ctx context.Context,
	c *enroll.Client,
	tenantID, upn string,
	n, timeoutMinutes int,
	displayName func(slot int) string,
	now time.Time,
) (*optionsFile, error) {
	u, err := c.GetUser(ctx, upn)
	if err != nil {
		return nil, err
	}
	o := &optionsFile{Kind: kindOptions, TenantID: tenantID, UserID: u.ID, UPN: u.UPN, Created: now.UTC()}
	for slot := 1; slot <= n; slot++ {
		co, err := c.CreationOptions(ctx, u.ID, timeoutMinutes)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", slot, err)
		}
		o.Keys = append(o.Keys, keyOptions{Slot: slot, DisplayName: displayName(slot), Options: *co})
	}
	return o, nil
}

// Workstation is how Create reaches the keys and the officers.
type Workstation struct {
	Devices            []string // fixed addresses in slot order; none: hidraw, the officers plug in one key at a time
	Reset              bool     // reset each key first, then set its PIN from the officers' halves
	MinPINLength       int
	OfficerA, OfficerB string
	GeneratedPIN       bool             // generated PIN halves, each printed with PrintHalf
	PrintHalf          envelope.Printer // how a half's page is printed
	Rehearsal          bool
	Officers           officer.Prompter
}

// createOnWorkstation makes the credentials of o on this workstation, each
// key prepared as the ceremony prepares it (alone, reset, split PIN),
// journaled in outPath.journal.jsonl so that an interrupted session is
// resumed by running it again; notice hears that it resumes and, before
// any key is touched, what the options ask for.
func createOnWorkstation(
	ctx context.Context,
	o *optionsFile,
	optionsPayload []byte,
	vf *attest.Verifier,
	w Workstation,
	outPath string,
	notice io.Writer,
) (*resultsFile, error) {
	journalPath := outPath + ".journal.jsonl"
	if _, err := os.Stat(journalPath); err == nil {
		fmt.Fprintf(notice, "Resuming the offline session recorded in %s\n", journalPath)
	}
	expiry := "not given"
	if len(o.Keys) > 0 && !o.Keys[0].Options.ChallengeTimeout.IsZero() {
		expiry = o.Keys[0].Options.ChallengeTimeout.Format(time.RFC3339)
	}
	fmt.Fprintf(notice, "Options from the connected machine: account %s, %d keys, challenges valid until %s.\n",
		o.UPN, len(o.Keys), expiry)
	j, err := ceremony.OpenOrCreateJournal(journalPath, false)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	officers := &onceTouch{Prompter: w.Officers}
	res, err := createCredentials(
		ctx,
		o,
		optionsPayload,
		func(ctx context.Context, slot int) (*ceremony.PreparedKey, error) {
			var devs fidokey.Devices = fidokey.HID{}
			if len(w.Devices) > 0 {
				if slot > len(w.Devices) {
					return nil, fmt.Errorf("key %d: no --device for it", slot)
				}
				devs = fidokey.HID{Fixed: []string{w.Devices[slot-1]}}
			}
			e, err := ceremony.New(
				ceremony.Config{Account: o.UPN, OfficerA: w.OfficerA, OfficerB: w.OfficerB, Keys: len(o.Keys),
					Reset: w.Reset, MinPINLength: w.MinPINLength, GeneratedPIN: w.GeneratedPIN, PrintHalf: w.PrintHalf,
					Rehearsal: w.Rehearsal,
					Verifier:  vf, OutDir: filepath.Dir(outPath), OtherKeys: createdKeys(o, j, slot)},
				j,
				devs,
				nil,
				officers,
			)
			if err != nil {
				return nil, err
			}
			return e.PrepareKey(ctx, slot)
		},
		vf,
		j,
		time.Now(),
		notice,
	)
	if err != nil {
		return nil, fmt.Errorf(
			"%w (the journal is kept: run the same command again to resume from %s)",
			err,
			journalPath,
		)
	}
	return res, nil
}

// createdKeys are the credentials this session's journal records for the
// keys other than slot: the ceremony's probe (before anything is done to
// a key) refuses a key that already holds one, so key 1 offered again as
// key 2 is sent back, never reset.
func createdKeys(o *optionsFile, j *ceremony.Journal, slot int) []ceremony.KnownKey {
	var known []ceremony.KnownKey
	for _, ko := range o.Keys {
		d, ok := j.Done(fmt.Sprintf("offline/key%d/created", ko.Slot))
		if ko.Slot == slot || !ok {
			continue
		}
		if id, err := base64.RawURLEncoding.DecodeString(d["credential_id"]); err == nil && len(id) > 0 {
			label := fmt.Sprintf("key %d of this offline session", ko.Slot)
			known = append(known, ceremony.KnownKey{Label: label, CredentialID: id})
		}
	}
	return known
}

// onceTouch says "touch the key" once per touch: a key sends keepalives
// while it waits, and each would say it again.
type onceTouch struct {
	officer.Prompter
	said bool
}

func (p *onceTouch) Touch(slot int) {
	if !p.said {
		p.Prompter.Touch(slot)
	}
	p.said = true
}

func (p *onceTouch) Progress(step, detail string) { p.said = false; p.Prompter.Progress(step, detail) }

func (p *onceTouch) Instruct(ctx context.Context, in officer.Instruction) error {
	p.said = false
	return p.Prompter.Instruct(ctx, in)
}

func (p *onceTouch) Confirm(ctx context.Context, name, action string) error {
	p.said = false
	return p.Prompter.Confirm(ctx, name, action)
}

// keySource makes key slot ready for its credential (ceremony.Engine's
// PrepareKey: inserted alone, reset, split PIN), journaled.
type keySource func(ctx context.Context, slot int) (*ceremony.PreparedKey, error)

// maxYanks bounds how often a key pulled out after its preparation is
// waited for before the session stops (to be resumed from the journal).
const maxYanks = 5

// createCredentials makes one credential per key slot on the workstation and judges
// each attestation with vf, as the connected ceremony does; a key the
// policy refuses stops it. Each credential made is recorded in j before
// the next key, so an interrupted session resumes without making it again.
func createCredentials(ctx context.Context, o *optionsFile, optionsPayload []byte, keys keySource, vf *attest.Verifier,
	j *ceremony.Journal, now time.Time, notice io.Writer) (*resultsFile, error) {
	if o.Kind != kindOptions {
		return nil, fmt.Errorf("options kind %q", o.Kind)
	}
	// A name Entra would refuse stops the session before any key is reset,
	// not at the registration on the connected machine.
	for _, ko := range o.Keys {
		if err := keyname.CheckName(ko.DisplayName); err != nil {
			return nil, fmt.Errorf("options key %d: %w: export the options again with this version", ko.Slot, err)
		}
	}
	sum := sha256.Sum256(optionsPayload)
	res := &resultsFile{
		Kind:          kindResults,
		OptionsSHA256: hex.EncodeToString(sum[:]),
		UserID:        o.UserID,
		Created:       now.UTC(),
	}
	for _, ko := range o.Keys {
		step := fmt.Sprintf("offline/key%d/created", ko.Slot)
		if d, ok := j.Done(step); ok {
			kr, err := recorded(ko, d, vf)
			if err != nil {
				return nil, fmt.Errorf("key %d (from the journal): %w", ko.Slot, err)
			}
			res.Credentials = append(res.Credentials, *kr)
			continue
		}
		if err := ko.Options.Validate(now); err != nil {
			return nil, fmt.Errorf("key %d: %w", ko.Slot, err)
		}
		kr, err := create(ctx, keys, ko, vf)
		for n := 0; errors.Is(err, hid.ErrDeviceGone) && n < maxYanks && ctx.Err() == nil; n++ {
			// Pulled out (or silent) after its PIN: wait for it as the
			// ceremony does; the journal skips what is done.
			fmt.Fprintf(notice, "Key %d was pulled out or stopped answering (%v): plug the same key back in; "+
				"nothing recorded is lost.\n", ko.Slot, err)
			kr, err = create(ctx, keys, ko, vf)
		}
		if err != nil {
			return nil, err
		}
		if err := j.Append(step, "done", map[string]string{"aaguid": kr.AAGUID, "credential_id": kr.CredentialID,
			"client_data_json": kr.ClientDataJSON, "attestation_object": kr.AttestationObject,
			"hmac_secret": fmt.Sprint(kr.Extensions["hmacCreateSecret"])}); err != nil {
			return nil, err
		}
		res.Credentials = append(res.Credentials, *kr)
	}
	return res, nil
}

// create prepares key ko.Slot (keys) and makes its credential; every
// error names the key once.
func create(ctx context.Context, keys keySource, ko keyOptions, vf *attest.Verifier) (*keyResult, error) {
	k, err := keys(ctx, ko.Slot)
	if err != nil {
		return nil, err // PrepareKey names the key
	}
	defer k.Close()
	tok, err := k.Auth.GetPINToken(
		ctx,
		k.PIN,
		ctap.TokenRequest{Permissions: ctap.PermMakeCredential, RPID: enroll.RPID},
	)
	if err != nil {
		return nil, fmt.Errorf("key %d: %w", ko.Slot, err)
	}
	defer tok.Zero()
	c, err := keystep.CreateForEntra(ctx, k.Auth, &ko.Options, tok, k.Info, vf)
	if err != nil {
		return nil, fmt.Errorf("key %d: create the credential: %w", ko.Slot, err)
	}
	if !c.Verdict.Allowed {
		// Void, as in the ceremony: a resume asks for another key for the slot
		// instead of repeating the refusal (issue 23 §2).
		return nil, fmt.Errorf("key %d: %w", ko.Slot, k.Void(keystep.Refusal(c.Verdict)))
	}
	enc := base64.RawURLEncoding.EncodeToString
	return &keyResult{Slot: ko.Slot, DisplayName: ko.DisplayName, AAGUID: c.AuthData.AAGUID.String(),
		CredentialID: enc(
			c.AuthData.CredentialID,
		), ClientDataJSON: enc(c.ClientDataJSON), AttestationObject: enc(c.AttestationObject),
		Extensions: map[string]any{"hmacCreateSecret": c.HMACSecret}, Attestation: c.Verdict}, nil
}

// recorded rebuilds a credential the journal holds and judges its
// attestation again (the verdict is not trusted from the journal).
func recorded(ko keyOptions, d map[string]string, vf *attest.Verifier) (*keyResult, error) {
	v, err := judge(ko, d["client_data_json"], d["attestation_object"], vf)
	if err != nil {
		return nil, err
	}
	if !v.Allowed {
		return nil, keystep.Refusal(v)
	}
	return &keyResult{Slot: ko.Slot, DisplayName: ko.DisplayName, AAGUID: d["aaguid"], CredentialID: d["credential_id"],
		ClientDataJSON: d["client_data_json"], AttestationObject: d["attestation_object"],
		Extensions: map[string]any{"hmacCreateSecret": d["hmac_secret"] == "true"}, Attestation: v}, nil
}

// judge verifies a credential's attestation object and clientDataJSON
// (base64url) with vf for Entra and the challenge of ko's options.
func judge(ko keyOptions, clientDataJSON, attestationObject string, vf *attest.Verifier) (*attest.Verdict, error) {
	cd, err1 := base64.RawURLEncoding.DecodeString(clientDataJSON)
	ao, err2 := base64.RawURLEncoding.DecodeString(attestationObject)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	return keystep.JudgeForEntra(vf, &ko.Options, attest.Input{AttestationObject: ao, ClientDataJSON: cd})
}

// answers checks the results answer these options (the hash of the
// options payload).
func answers(optionsPayload []byte, res *resultsFile) error {
	sum := sha256.Sum256(optionsPayload)
	if res.Kind != kindResults || res.OptionsSHA256 != hex.EncodeToString(sum[:]) {
		return refused{errors.New("the results do not answer these options (different options file): refusing")}
	}
	return nil
}

// judgeAll judges every credential of res on this machine with vf, against
// the challenge o exported for its slot, and shows out this verdict beside
// the workstation's. A key this machine refuses, or whose verdict differs
// from the workstation's, refuses them all: nothing is registered.
func judgeAll(o *optionsFile, res *resultsFile, vf *attest.Verifier, out io.Writer) error {
	for _, kr := range res.Credentials {
		i := slices.IndexFunc(o.Keys, func(ko keyOptions) bool { return ko.Slot == kr.Slot })
		if i < 0 || o.Keys[i].DisplayName != kr.DisplayName {
			return refused{fmt.Errorf("key %d (%q): these options asked for no such key: refusing",
				kr.Slot, kr.DisplayName)}
		}
		fmt.Fprintf(out, "Key %d (%s), the workstation's verdict:\n", kr.Slot, kr.DisplayName)
		if kr.Attestation == nil {
			fmt.Fprintln(out, "none in the results")
		} else if err := kr.Attestation.WriteText(out); err != nil {
			return err
		}
		own, err := judge(o.Keys[i], kr.ClientDataJSON, kr.AttestationObject, vf)
		if err != nil {
			return refused{fmt.Errorf("key %d: this machine cannot judge its attestation: %w; nothing was registered",
				kr.Slot, err)}
		}
		fmt.Fprintf(out, "Key %d (%s), this machine's verdict:\n", kr.Slot, kr.DisplayName)
		if err := own.WriteText(out); err != nil {
			return err
		}
		ws := kr.Attestation
		switch {
		case !own.Allowed:
			return refused{fmt.Errorf("key %d: this machine refuses it (%w); nothing was registered",
				kr.Slot, keystep.Refusal(own))}
		case ws == nil || ws.Allowed != own.Allowed || !strings.EqualFold(ws.AAGUID, own.AAGUID) ||
			!strings.EqualFold(kr.AAGUID, own.AAGUID):
			return refused{fmt.Errorf("key %d: the workstation's verdict and this machine's disagree: refusing; "+
				"nothing was registered", kr.Slot)}
		}
	}
	return nil
}

// registerResults registers the judged results on the connected machine,
// each key journaled in j. A key whose credential Graph already lists
// under its display name (a run killed between two registrations) is
// adopted, not registered again.
func registerResults(ctx context.Context, c *enroll.Client, res *resultsFile, j *ceremony.Journal,
	out io.Writer) error {
	for _, kr := range res.Credentials {
		var cred enroll.Credential
		var errs [3]error
		cred.ID, errs[0] = base64.RawURLEncoding.DecodeString(kr.CredentialID)
		cred.ClientDataJSON, errs[1] = base64.RawURLEncoding.DecodeString(kr.ClientDataJSON)
		cred.AttestationObject, errs[2] = base64.RawURLEncoding.DecodeString(kr.AttestationObject)
		err := errors.Join(errs[:]...)
		if err != nil || len(cred.ID) == 0 || len(cred.ClientDataJSON) == 0 || len(cred.AttestationObject) == 0 {
			return fmt.Errorf("key %d: incomplete result: %v", kr.Slot, err)
		}
		cred.AAGUID, cred.ClientExtensionResults = kr.AAGUID, kr.Extensions
		step := fmt.Sprintf("register/key%d", kr.Slot)
		if _, done := j.Done(step); !done {
			begin := map[string]string{"credential_id": kr.CredentialID, "display_name": kr.DisplayName}
			if err := j.Append(step, "begin", begin); err != nil {
				return err
			}
		}
		m, err := c.Register(ctx, res.UserID, kr.DisplayName, cred)
		if err != nil {
			if jerr := j.Append(step, "failed", map[string]string{"error": err.Error()}); jerr != nil {
				err = fmt.Errorf("%w (and the journal could not record it: %v)", err, jerr)
			}
			return fmt.Errorf("key %d: %w (run the same command again: a key already registered is adopted, "+
				"never registered twice)", kr.Slot, err)
		}
		done := map[string]string{"method_id": m.ID, "adopted": fmt.Sprint(m.Adopted)}
		if err := j.Append(step, "done", done); err != nil {
			return err
		}
		how := ""
		if m.Adopted {
			how = "; adopted: an earlier run had registered this credential"
		}
		fmt.Fprintf(out, "Registered %q: method %s, AAGUID %s (%s)%s\n",
			m.DisplayName, m.ID, m.AAGUID, m.AttestationLevel, how)
	}
	return nil
}

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
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/envelope"
	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/internal/keyname"
	"github.com/keyceremony/keyceremony/keystep"
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
	return os.WriteFile(path, append(b, '\n'), 0o600)
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
func fetchOptions(ctx context.Context, c *enroll.Client, tenantID, upn string, n, timeoutMinutes int, displayName func(slot int) string, now time.Time) (*optionsFile, error) {
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
// resumed by running it again; notice hears that it resumes.
func createOnWorkstation(ctx context.Context, o *optionsFile, optionsPayload []byte, vf *attest.Verifier, w Workstation, outPath string, notice io.Writer) (*resultsFile, error) {
	journalPath := outPath + ".journal.jsonl"
	if _, err := os.Stat(journalPath); err == nil {
		fmt.Fprintf(notice, "Resuming the offline session recorded in %s\n", journalPath)
	}
	j, err := ceremony.OpenOrCreateJournal(journalPath, false)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	res, err := createCredentials(ctx, o, optionsPayload, func(ctx context.Context, slot int) (*ceremony.PreparedKey, error) {
		var devs fidokey.Devices = fidokey.HID{}
		if len(w.Devices) > 0 {
			if slot > len(w.Devices) {
				return nil, fmt.Errorf("no --device for key %d", slot)
			}
			devs = fidokey.HID{Fixed: []string{w.Devices[slot-1]}}
		}
		e, err := ceremony.New(ceremony.Config{Account: o.UPN, OfficerA: w.OfficerA, OfficerB: w.OfficerB, Keys: len(o.Keys),
			Reset: w.Reset, MinPINLength: w.MinPINLength, GeneratedPIN: w.GeneratedPIN, PrintHalf: w.PrintHalf, Rehearsal: w.Rehearsal,
			Verifier: vf, OutDir: filepath.Dir(outPath)}, j, devs, nil, w.Officers)
		if err != nil {
			return nil, err
		}
		return e.PrepareKey(ctx, slot)
	}, vf, j, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%w (the journal is kept: run the same command again to resume from %s)", err, journalPath)
	}
	return res, nil
}

// keySource makes key slot ready for its credential (ceremony.Engine's
// PrepareKey: inserted alone, reset, split PIN), journaled.
type keySource func(ctx context.Context, slot int) (*ceremony.PreparedKey, error)

// createCredentials makes one credential per key slot on the workstation and judges
// each attestation with vf, as the connected ceremony does; a key the
// policy refuses stops it. Each credential made is recorded in j before
// the next key, so an interrupted session resumes without making it again.
func createCredentials(ctx context.Context, o *optionsFile, optionsPayload []byte, keys keySource, vf *attest.Verifier, j *ceremony.Journal, now time.Time) (*resultsFile, error) {
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
	res := &resultsFile{Kind: kindResults, OptionsSHA256: hex.EncodeToString(sum[:]), UserID: o.UserID, Created: now.UTC()}
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
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", ko.Slot, err)
		}
		if err := j.Append(step, "done", map[string]string{"aaguid": kr.AAGUID, "credential_id": kr.CredentialID,
			"client_data_json": kr.ClientDataJSON, "attestation_object": kr.AttestationObject, "hmac_secret": fmt.Sprint(kr.Extensions["hmacCreateSecret"])}); err != nil {
			return nil, err
		}
		res.Credentials = append(res.Credentials, *kr)
	}
	return res, nil
}

func create(ctx context.Context, keys keySource, ko keyOptions, vf *attest.Verifier) (*keyResult, error) {
	k, err := keys(ctx, ko.Slot)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	tok, err := k.Auth.GetPINToken(ctx, k.PIN, ctap.TokenRequest{Permissions: ctap.PermMakeCredential, RPID: enroll.RPID})
	if err != nil {
		return nil, err
	}
	defer tok.Zero()
	c, err := keystep.CreateForEntra(ctx, k.Auth, &ko.Options, tok, k.Info.FirmwareVersion, vf)
	if err != nil {
		return nil, err
	}
	if !c.Verdict.Allowed {
		return nil, keystep.Refusal(c.Verdict)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return &keyResult{Slot: ko.Slot, DisplayName: ko.DisplayName, AAGUID: c.AuthData.AAGUID.String(),
		CredentialID: enc(c.AuthData.CredentialID), ClientDataJSON: enc(c.ClientDataJSON), AttestationObject: enc(c.AttestationObject),
		Extensions: map[string]any{"hmacCreateSecret": c.HMACSecret}, Attestation: c.Verdict}, nil
}

// recorded rebuilds a credential the journal holds and judges its
// attestation again (the verdict is not trusted from the journal).
func recorded(ko keyOptions, d map[string]string, vf *attest.Verifier) (*keyResult, error) {
	cd, err1 := base64.RawURLEncoding.DecodeString(d["client_data_json"])
	ao, err2 := base64.RawURLEncoding.DecodeString(d["attestation_object"])
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	challenge, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(ko.Options.PublicKey.Challenge, "="))
	if err != nil {
		return nil, fmt.Errorf("the options' challenge: %w", err)
	}
	v, err := vf.Verify(attest.Input{AttestationObject: ao, ClientDataJSON: cd}, attest.Expect{RPID: enroll.RPID, Origin: enroll.Origin, Challenge: challenge})
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

// registerResults registers the results on the connected machine, after checking
// they answer these options (the hash of the options payload).
func registerResults(ctx context.Context, c *enroll.Client, optionsPayload []byte, res *resultsFile) ([]enroll.Method, error) {
	sum := sha256.Sum256(optionsPayload)
	if res.Kind != kindResults || res.OptionsSHA256 != hex.EncodeToString(sum[:]) {
		return nil, errors.New("the results do not answer these options (different options file): refusing")
	}
	var out []enroll.Method
	for _, kr := range res.Credentials {
		dec := func(s string) []byte { b, _ := base64.RawURLEncoding.DecodeString(s); return b }
		cred := enroll.Credential{ID: dec(kr.CredentialID), ClientDataJSON: dec(kr.ClientDataJSON), AttestationObject: dec(kr.AttestationObject),
			AAGUID: kr.AAGUID, ClientExtensionResults: kr.Extensions}
		if len(cred.ID) == 0 || len(cred.ClientDataJSON) == 0 || len(cred.AttestationObject) == 0 {
			return out, fmt.Errorf("key %d: incomplete result", kr.Slot)
		}
		if kr.Attestation == nil || !kr.Attestation.Allowed {
			return out, fmt.Errorf("key %d: the results carry no attestation verdict that allows the key: refusing to register it", kr.Slot)
		}
		m, err := c.Register(ctx, res.UserID, kr.DisplayName, cred)
		if err != nil {
			return out, fmt.Errorf("key %d: %w", kr.Slot, err)
		}
		out = append(out, *m)
	}
	return out, nil
}

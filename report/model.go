package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gowebpki/jcs"
)

// schema names the report format and its version.
const schema = "keyceremony-report/1"

// Report types.
const (
	TypeCeremony = "ceremony"
	TypeHealth   = "health"
)

// Report is one ceremony or health check. Times are UTC. It never holds a
// PIN, a PIN hash, a token or any other secret.
type Report struct {
	Schema      string       `json:"schema"`
	Type        string       `json:"type"`
	Rehearsal   bool         `json:"rehearsal"`
	CeremonyID  string       `json:"ceremony_id"`
	Started     time.Time    `json:"started"`
	Ended       time.Time    `json:"ended"`
	Tenant      Tenant       `json:"tenant"`
	Account     Account      `json:"account"`
	Officers    []Person     `json:"officers"`
	Workstation Workstation  `json:"workstation"`
	Tool        Tool         `json:"tool"`
	Policy      *PolicyRef   `json:"policy,omitempty"`
	MDS         *MDSRef      `json:"mds,omitempty"`
	Keys        []Key        `json:"keys"`
	Retired     []Retired    `json:"retired,omitempty"`
	Steps       []Step       `json:"steps"`
	Findings    []string     `json:"findings,omitempty"`
	Deviations  []string     `json:"deviations,omitempty"`
	Previous    *PreviousRef `json:"previous,omitempty"`
}

// Tenant is the Entra ID tenant.
type Tenant struct {
	ID     string `json:"id"`
	Domain string `json:"domain,omitempty"`
}

// Account is the break-glass account.
type Account struct {
	UPN      string `json:"upn"`
	ObjectID string `json:"object_id"`
}

// Person is an officer or witness.
type Person struct {
	Role string `json:"role"` // officer-a, officer-b, witness
	Name string `json:"name"`
}

// Workstation identifies where the ceremony ran and what signed the report.
type Workstation struct {
	Hostname string `json:"hostname"`
	// SignerKind is tpm, software or rehearsal.
	SignerKind string `json:"signer_kind"`
	// SignerFingerprint is the OpenSSH SHA256 fingerprint of the signing key.
	SignerFingerprint string `json:"signer_fingerprint"`
	// SignerPublicKey is the signing key in OpenSSH authorized_keys form.
	SignerPublicKey string `json:"signer_public_key"`
}

// Tool identifies the software that ran the ceremony.
type Tool struct {
	Version      string `json:"version"`
	BinarySHA256 string `json:"binary_sha256"`
	GoVersion    string `json:"go_version"`
	Module       string `json:"module,omitempty"`
	VCSRevision  string `json:"vcs_revision,omitempty"`
}

// PolicyRef identifies the attestation policy.
type PolicyRef struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// MDSRef identifies the FIDO MDS blob.
type MDSRef struct {
	SHA256 string `json:"sha256"`
	Serial int    `json:"serial"`
}

// Key is one security key of the ceremony.
type Key struct {
	Slot           int          `json:"slot"`
	AAGUID         string       `json:"aaguid"`
	Model          string       `json:"model"`
	Firmware       string       `json:"firmware,omitempty"`
	FirmwareSource string       `json:"firmware_source,omitempty"` // getInfo, or the CTAPHID_INIT device version
	Serial         string       `json:"serial,omitempty"`
	CredentialID   string       `json:"credential_id"`   // base64url
	PublicKeyCOSE  string       `json:"public_key_cose"` // base64url
	PublicKeyPEM   string       `json:"public_key_pem"`  // PKIX
	Attestation    *Attestation `json:"attestation"`     // as attest decided it
	GraphMethodID  string       `json:"graph_method_id,omitempty"`
	DisplayName    string       `json:"display_name,omitempty"`
	PINSet         bool         `json:"pin_set"`   // never the PIN
	PINSplit       bool         `json:"pin_split"` // entered as two halves by two officers
	// PINGenerated: the tool drew the PIN and printed each half for its own
	// sealed envelope (never the halves themselves).
	PINGenerated    bool   `json:"pin_generated,omitempty"`
	PINRetries      int    `json:"pin_retries"`
	MinPINLength    int    `json:"min_pin_length"`
	ForcePINChange  bool   `json:"force_pin_change"`
	AssertionCount  uint32 `json:"assertion_counter,omitempty"`
	AttestationCert string `json:"attestation_cert_sha256,omitempty"`
}

// Retired is a credential removed from the account.
type Retired struct {
	GraphMethodID string `json:"graph_method_id"`
	DisplayName   string `json:"display_name,omitempty"`
	AAGUID        string `json:"aaguid,omitempty"`
	Created       string `json:"created,omitempty"`
}

// Step is one step of the ceremony, as the journal recorded it.
type Step struct {
	Name        string    `json:"name"`
	Started     time.Time `json:"started"`
	Ended       time.Time `json:"ended"`
	ConfirmedBy []string  `json:"confirmed_by,omitempty"`
	Outcome     string    `json:"outcome"` // done, skipped, failed, finding, unknown
	Detail      string    `json:"detail,omitempty"`
}

// PreviousRef chains a report to the previous report of the same account.
type PreviousRef struct {
	SHA256     string `json:"sha256"` // of the previous report.json bytes
	CeremonyID string `json:"ceremony_id"`
	Type       string `json:"type"`
}

// canonical encodes the report as RFC 8785 canonical JSON: the same facts
// always give the same bytes.
func (r *Report) canonical() ([]byte, error) {
	if r.Schema == "" {
		r.Schema = schema
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	out, err := jcs.Transform(raw)
	if err != nil {
		return nil, fmt.Errorf("canonicalise report: %w", err)
	}
	return out, nil
}

// Parse decodes a report strictly: unknown fields and a foreign schema are
// errors.
func Parse(data []byte) (*Report, error) {
	notAReport := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{errNotAReport}, a...)...)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, notAReport("%v", err)
	}
	if dec.More() {
		return nil, notAReport("trailing data after the report")
	}
	if r.Schema != schema {
		return nil, notAReport("schema %q, want %q", r.Schema, schema)
	}
	if r.Type != TypeCeremony && r.Type != TypeHealth && r.Type != typeMonitorSetup {
		return nil, notAReport("type %q", r.Type)
	}
	if r.CeremonyID == "" || r.Account.UPN == "" || r.Workstation.SignerKind == "" {
		return nil, notAReport("ceremony id, account or signer missing")
	}
	return &r, nil
}

// typeMonitorSetup is the report `keyceremony monitor setup` signs: the
// monitoring resources it created, chained to the account's last report.
const typeMonitorSetup = "monitor-setup"

// Ref returns the chain reference a next report of the account carries.
func Ref(reportJSON []byte, r *Report) *PreviousRef {
	sum := sha256.Sum256(reportJSON)
	return &PreviousRef{SHA256: hex.EncodeToString(sum[:]), CeremonyID: r.CeremonyID, Type: r.Type}
}

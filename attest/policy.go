package attest

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keyceremony/keyceremony/ctap"
)

// Policy is the organisation's rule for which keys a ceremony accepts.
// It is read from JSON; unknown keys are an error.
type Policy struct {
	// Version of the policy format: 1.
	Version int `json:"version"`
	// Name identifies the policy in reports.
	Name string `json:"name"`
	// RequireAttestation refuses "none" attestation (default true).
	RequireAttestation *bool `json:"require_attestation,omitempty"`
	// AllowSelfAttestation accepts packed self attestation (default false):
	// it proves nothing about the key's make.
	AllowSelfAttestation bool `json:"allow_self_attestation,omitempty"`
	// Roots are the trusted attestation roots.
	Roots []Root `json:"roots,omitempty"`
	// MDS configures the FIDO Metadata Service blob, when one is used.
	MDS *mdsPolicy `json:"mds,omitempty"`
	// MinCertification is the lowest FIDO certification level accepted,
	// e.g. "FIDO_CERTIFIED_L1"; empty accepts any (and needs no MDS).
	MinCertification string `json:"min_certification,omitempty"`
	// Allowed lists the approved models.
	Allowed []AllowedModel `json:"allowed"`
	// DisplayNamePattern names keys in Entra: {account} is the account's
	// place in the sitting, {n} the key number, {year} and {date} the
	// ceremony's (YYYY-MM-DD), {model} the model name, cut to fit Entra's 30
	// characters (internal/keyname; checked by config check and preflight).
	DisplayNamePattern string `json:"display_name_pattern,omitempty"`

	// raw is the policy file as read, for its hash in the report.
	raw []byte
	// roots are Roots parsed; published[i] is roots[i] as its file holds
	// it (it differs only for a BER-encoded root, see parseTrustAnchor).
	roots     []*x509.Certificate
	published [][]byte
}

// Root is one trusted attestation root certificate.
type Root struct {
	Name string `json:"name"`
	// PEM holds the certificate, or PEMFile names a file relative to the policy.
	PEM     string `json:"pem,omitempty"`
	PEMFile string `json:"pem_file,omitempty"`
}

// mdsPolicy configures the FIDO MDS3 blob.
type mdsPolicy struct {
	// Blob is the path of the MDS3 blob (a JWT), relative to the policy.
	Blob string `json:"blob"`
	// MaxAgeDays refuses a blob whose newest dated content is older.
	MaxAgeDays int `json:"max_age_days"`
	// Required refuses keys without an MDS entry.
	Required bool `json:"required,omitempty"`
}

// AllowedModel is one approved authenticator model.
type AllowedModel struct {
	AAGUID string `json:"aaguid"`
	Name   string `json:"name"`
	// MinFirmware, e.g. "5.4.3", refuses older firmware (getInfo
	// firmwareVersion, written and compared in the vendor's form
	// (ctap.ParseFirmware): only for models whose encoding is known, such as
	// YubiKeys' 0xMMmmpp "5.4.3" or pico-fido's 0xMMmm "8.0"; any other is
	// refused).
	MinFirmware string `json:"min_firmware,omitempty"`
}

//go:embed default-policy.json roots/*.pem
var embedded embed.FS

// LoadPolicy reads a policy file; root PEM files and the MDS blob path are
// relative to it. With path "", it is the embedded policy for the common
// break-glass keys.
func LoadPolicy(path string) (*Policy, error) {
	if path == "" {
		b, err := embedded.ReadFile("default-policy.json")
		if err != nil {
			return nil, err
		}
		return parsePolicy(b, func(name string) ([]byte, error) { return embedded.ReadFile(filepath.ToSlash(name)) })
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	dir := filepath.Dir(path)
	p, err := parsePolicy(b, func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) })
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	if p.MDS != nil && !filepath.IsAbs(p.MDS.Blob) {
		p.MDS.Blob = filepath.Join(dir, p.MDS.Blob)
	}
	return p, nil
}

// ParsePolicy parses a policy whose root files (if any) are read by readFile.
func parsePolicy(data []byte, readFile func(string) ([]byte, error)) (*Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if dec.More() {
		return nil, errors.New("policy: trailing data after the JSON object")
	}
	if p.Version != 1 {
		return nil, fmt.Errorf("policy: version %d is not supported (want 1)", p.Version)
	}
	if len(p.Allowed) == 0 {
		return nil, errors.New("policy: no allowed models")
	}
	seen := map[string]bool{}
	for i, a := range p.Allowed {
		id, err := ctap.ParseAAGUID(a.AAGUID)
		if err != nil {
			return nil, fmt.Errorf("policy: allowed[%d]: %w", i, err)
		}
		if id.IsZero() {
			return nil, fmt.Errorf("policy: allowed[%d]: the zero AAGUID names no model", i)
		}
		if seen[id.String()] {
			return nil, fmt.Errorf("policy: allowed[%d]: AAGUID %s listed twice", i, id)
		}
		seen[id.String()] = true
		p.Allowed[i].AAGUID = id.String()
		if a.MinFirmware != "" {
			// getInfo firmwareVersion is vendor-defined: a minimum compares
			// only in a vendor's known form (ctap.FormatFirmware).
			if _, known := ctap.FormatFirmware(id, 0, ""); !known {
				return nil, fmt.Errorf("policy: allowed[%d] (%s): min_firmware %q cannot be checked: this model's "+
					"firmwareVersion encoding is vendor-defined and not known to keyceremony (known: Yubico's "+
					"0xMMmmpp, pico-fido's 0xMMmm); remove min_firmware for this model", i, id, a.MinFirmware)
			}
			if _, err := ctap.ParseFirmware(id, a.MinFirmware); err != nil {
				return nil, fmt.Errorf("policy: allowed[%d]: %w", i, err)
			}
		}
	}
	for i, r := range p.Roots {
		pemData := []byte(r.PEM)
		if r.PEMFile != "" {
			if r.PEM != "" {
				return nil, fmt.Errorf("policy: roots[%d]: give pem or pem_file, not both", i)
			}
			b, err := readFile(r.PEMFile)
			if err != nil {
				return nil, fmt.Errorf("policy: roots[%d]: %w", i, err)
			}
			pemData = b
		}
		blk, _ := pem.Decode(pemData)
		if blk == nil || blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("policy: roots[%d] (%s): not a PEM certificate", i, r.Name)
		}
		c, err := parseTrustAnchor(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("policy: roots[%d] (%s): %w", i, r.Name, err)
		}
		if !c.IsCA {
			return nil, fmt.Errorf("policy: roots[%d] (%s): not a CA certificate", i, r.Name)
		}
		p.roots = append(p.roots, c)
		p.published = append(p.published, blk.Bytes)
	}
	if p.MDS != nil {
		if p.MDS.Blob == "" || p.MDS.MaxAgeDays <= 0 {
			return nil, errors.New("policy: mds needs a blob path and a positive max_age_days")
		}
	}
	if p.MinCertification != "" {
		if _, ok := certificationRank(p.MinCertification); !ok {
			return nil, fmt.Errorf("policy: min_certification %q is not a FIDO certification level", p.MinCertification)
		}
		if p.MDS == nil {
			return nil, errors.New("policy: min_certification needs an MDS blob to know certification levels")
		}
	}
	if len(p.roots) == 0 && p.MDS == nil {
		return nil, errors.New("policy: no trusted roots and no MDS blob: nothing could be trusted")
	}
	p.raw = append([]byte(nil), data...)
	return &p, nil
}

// requiresAttestation reports whether "none" attestation is refused.
func (p *Policy) requiresAttestation() bool {
	return p.RequireAttestation == nil || *p.RequireAttestation
}

// SHA256 is the hex SHA-256 of the policy file as read, for the report.
func (p *Policy) SHA256() string {
	s := sha256.Sum256(p.raw)
	return hex.EncodeToString(s[:])
}

// anchorInfo names a root by its bytes as published, whatever encoding
// repair parseTrustAnchor made to use it.
func (p *Policy) anchorInfo(c *x509.Certificate) CertInfo {
	info := certInfo(c)
	for i, r := range p.roots {
		if r == c || r.Equal(c) {
			s := sha256.Sum256(p.published[i])
			info.SHA256 = hex.EncodeToString(s[:])
		}
	}
	return info
}

// JSON returns the policy file as it was read.
func (p *Policy) JSON() []byte { return append([]byte(nil), p.raw...) }

// rootPEM returns root i (in Roots' order) as PEM, in its published bytes.
func (p *Policy) rootPEM(i int) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.published[i]})
}

// rootInfo lists the policy's roots by name and published SHA-256.
func (p *Policy) rootInfo() []CertInfo {
	var out []CertInfo
	for _, r := range p.roots {
		out = append(out, p.anchorInfo(r))
	}
	return out
}

// model finds the allowlist entry of an AAGUID.
func (p *Policy) model(aaguid string) (AllowedModel, bool) {
	for _, a := range p.Allowed {
		if a.AAGUID == aaguid {
			return a, true
		}
	}
	return AllowedModel{}, false
}

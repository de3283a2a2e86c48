package attest

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/golang-jwt/jwt/v5"

	"github.com/keyceremony/keyceremony/ctap"
)

// MDS is a verified FIDO Metadata Service (MDS3) blob, indexed by AAGUID.
type MDS struct {
	// Serial is the blob's "no".
	Serial int
	// NextUpdate is when FIDO promised the next blob.
	NextUpdate time.Time
	// Newest is the newest date inside the blob (status changes and
	// reports): the blob was issued no earlier, so its age is at least
	// the time since Newest.
	Newest time.Time
	// SHA256 is the hex SHA-256 of the blob file, for the report.
	SHA256 string

	// Unreadable counts the entries that could not be decoded.
	Unreadable int

	entries    map[string]*metadata.Entry
	unreadable map[string]string // AAGUID → why its entry could not be read
}

// pinnedMDSRoot returns the FIDO Alliance MDS signing root as pinned by
// github.com/go-webauthn/webauthn (metadata.ProductionMDSRoot).
func pinnedMDSRoot() (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(metadata.ProductionMDSRoot)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// loadMDS reads and verifies an MDS3 blob file against root (nil: the pinned
// FIDO root).
func loadMDS(path string, root *x509.Certificate, now time.Time) (*MDS, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read MDS blob: %w", err)
	}
	return parseMDS(b, root, now)
}

// parseMDS verifies the blob's JWT signature and x5c chain offline against
// root (nil: the pinned FIDO root) at time now, then indexes its entries.
// Verification is done here, not by go-webauthn's decoder, because that
// decoder checks certificate revocation over the network: a ceremony
// workstation is offline, and the check must be too.
func parseMDS(blob []byte, root *x509.Certificate, now time.Time) (*MDS, error) {
	if root == nil {
		var err error
		if root, err = pinnedMDSRoot(); err != nil {
			return nil, fmt.Errorf("MDS root: %w", err)
		}
	}
	token := strings.TrimSpace(string(blob))
	// The payload is decoded once, straight into go-webauthn's MDS3 types,
	// while the JWT signature is checked.
	var claims mdsClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	_, err := parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		return mdsSigner(t, root, now)
	})
	if err != nil {
		return nil, fmt.Errorf("MDS blob signature: %w", err)
	}
	next, err := time.Parse(time.DateOnly, claims.NextUpdate)
	if err != nil {
		return nil, fmt.Errorf("MDS blob payload: nextUpdate %q: %w", claims.NextUpdate, err)
	}
	sum := sha256.Sum256(blob)
	m := &MDS{Serial: claims.Number, NextUpdate: next, SHA256: hex.EncodeToString(sum[:]),
		entries: map[string]*metadata.Entry{}, unreadable: map[string]string{}}
	for i, raw := range claims.Entries {
		e, err := parseMDSEntry(raw)
		if err != nil {
			// One entry the library's types cannot hold (FIDO's blob no. 9
			// has a minComplexity beyond uint32) must not hide the others;
			// a key whose own entry is unreadable is refused (checkMDS).
			m.Unreadable++
			var id struct {
				AAGUID string `json:"aaguid"`
			}
			if json.Unmarshal(raw, &id) == nil && id.AAGUID != "" {
				if a, perr := ctap.ParseAAGUID(id.AAGUID); perr == nil {
					m.unreadable[a.String()] = fmt.Sprintf("entry %d: %v", i, err)
				}
			}
			continue
		}
		if e.TimeOfLastStatusChange.After(m.Newest) {
			m.Newest = e.TimeOfLastStatusChange
		}
		for _, r := range e.StatusReports {
			if r.EffectiveDate != nil && r.EffectiveDate.After(m.Newest) {
				m.Newest = *r.EffectiveDate
			}
		}
		if e.AaGUID != [16]byte{} {
			m.entries[e.AaGUID.String()] = e
		}
	}
	return m, nil
}

// entryCount is the number of FIDO2 entries (with an AAGUID).
func (m *MDS) entryCount() int { return len(m.entries) }

// entry returns the metadata of an AAGUID.
func (m *MDS) entry(aaguid string) (*metadata.Entry, bool) {
	e, ok := m.entries[aaguid]
	return e, ok
}

// age is how old the blob is at least, at time now.
func (m *MDS) age(now time.Time) time.Duration { return now.Sub(m.Newest) }

// refusedStatuses are MDS statuses that disqualify a key.
var refusedStatuses = map[metadata.AuthenticatorStatus]string{
	metadata.Revoked:                   "the FIDO Alliance revoked this model",
	metadata.AttestationKeyCompromise:  "this model's attestation key is compromised",
	metadata.UserVerificationBypass:    "user verification can be bypassed on this model",
	metadata.UserKeyRemoteCompromise:   "credentials on this model can be compromised remotely",
	metadata.UserKeyPhysicalCompromise: "credentials on this model can be extracted with physical access",
}

// certificationLevels orders FIDO certification statuses.
var certificationLevels = []metadata.AuthenticatorStatus{
	metadata.FidoCertified, metadata.FidoCertifiedL1, metadata.FidoCertifiedL1plus,
	metadata.FidoCertifiedL2, metadata.FidoCertifiedL2plus, metadata.FidoCertifiedL3, metadata.FidoCertifiedL3plus,
}

func certificationRank(s string) (int, bool) {
	for i, l := range certificationLevels {
		if string(l) == s {
			return i, true
		}
	}
	return -1, false
}

// mdsClaims is the MDS3 payload as JWT claims: it has no registered claims
// (no exp: freshness is nextUpdate and the policy's max age). Entries stay
// raw, to be decoded one by one.
type mdsClaims struct {
	LegalHeader string            `json:"legalHeader"`
	Number      int               `json:"no"`
	NextUpdate  string            `json:"nextUpdate"`
	Entries     []json.RawMessage `json:"entries"`
}

func parseMDSEntry(raw []byte) (*metadata.Entry, error) {
	var ej metadata.EntryJSON
	if err := json.Unmarshal(raw, &ej); err != nil {
		return nil, err
	}
	e, err := ej.Parse()
	if err != nil {
		return nil, err
	}
	return &e, nil
}

func (mdsClaims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (mdsClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (mdsClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (mdsClaims) GetIssuer() (string, error)                   { return "", nil }
func (mdsClaims) GetSubject() (string, error)                  { return "", nil }
func (mdsClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// mdsSigner returns the blob signer's key once its x5c chain verifies to
// root at now; an expired signer is named with its dates.
func mdsSigner(t *jwt.Token, root *x509.Certificate, now time.Time) (any, error) {
	if _, ok := t.Header["x5u"]; ok {
		return nil, errors.New("x5u header: this tool only verifies the x5c chain in the blob")
	}
	x5c, ok := t.Header["x5c"].([]any)
	if !ok || len(x5c) == 0 {
		return nil, errors.New("no x5c certificate chain in the blob header")
	}
	var certs []*x509.Certificate
	for i, v := range x5c {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("x5c[%d] is not a string", i)
		}
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("x5c[%d]: %w", i, err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("x5c[%d]: %w", i, err)
		}
		certs = append(certs, c)
	}
	for _, c := range certs {
		if now.After(c.NotAfter) || now.Before(c.NotBefore) {
			return nil, fmt.Errorf(
				"the blob's signing certificate %q is valid only from %s to %s, not at %s: "+
					"the blob is out of date, fetch a current one",
				c.Subject.CommonName,
				c.NotBefore.UTC().Format(time.DateOnly),
				c.NotAfter.UTC().Format(time.DateOnly),
				now.UTC().Format(time.DateOnly),
			)
		}
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if _, err := certs[0].Verify(opts); err != nil {
		return nil, fmt.Errorf("blob signer does not chain to the pinned MDS root %q: %w", root.Subject.CommonName, err)
	}
	return certs[0].PublicKey, nil
}

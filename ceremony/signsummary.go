package ceremony

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/keyceremony/keyceremony/report"
)

// signSummary is what the officers confirm before the report is signed, on
// one screen: the account, each key with its name and fingerprint (as
// summary.txt and report verify print it), the methods retired and the
// deviations the report records.
func signSummary(r *report.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "sign the report of this ceremony with the workstation key. It records:\n")
	fmt.Fprintf(&b, "  account %s (%s)\n", r.Account.UPN, r.Account.ObjectID)
	for _, k := range r.Keys {
		fmt.Fprintf(&b, "  key %d %q, %s, public key %s\n", k.Slot, k.DisplayName, k.Model, publicKeyFingerprint(k))
	}
	if len(r.Retired) == 0 {
		b.WriteString("  retired: none\n")
	}
	for _, m := range r.Retired {
		fmt.Fprintf(&b, "  retired %q (%s)\n", m.DisplayName, m.GraphMethodID)
	}
	if len(r.Deviations) == 0 {
		b.WriteString("  deviations: none")
	}
	for i, d := range r.Deviations {
		fmt.Fprintf(&b, "  DEVIATION %d: %s", i+1, d)
		if i < len(r.Deviations)-1 {
			b.WriteString("\n")
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// publicKeyFingerprint is the SHA256 fingerprint of a key's credential
// public key (its SubjectPublicKeyInfo DER, as OpenSSH writes
// fingerprints), or why there is none.
func publicKeyFingerprint(k report.Key) string {
	block, _ := pem.Decode([]byte(k.PublicKeyPEM))
	if block == nil {
		return "(no public key recorded)"
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		return "(unreadable public key)"
	}
	sum := sha256.Sum256(block.Bytes)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

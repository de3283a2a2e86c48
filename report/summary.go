package report

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/keyceremony/keyceremony/internal/durable"
	"github.com/keyceremony/keyceremony/sigfile"
	"github.com/keyceremony/keyceremony/workstation"
)

// Files of a sitting that provisioned several accounts.
const (
	FileSummary          = "summary.txt"     // one page: every account's report and key fingerprints
	FileSummarySignature = "summary.txt.sig" // SSHSIG, namespace Namespace, as the reports
)

// keyFingerprint is the SHA256 fingerprint of an enrolled key's credential
// public key (its SubjectPublicKeyInfo DER), written as OpenSSH writes
// fingerprints: the one line the officers compare per key.
func keyFingerprint(k Key) (string, error) {
	block, _ := pem.Decode([]byte(k.PublicKeyPEM))
	if block == nil {
		return "", errors.New("the key record holds no PEM public key")
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		return "", fmt.Errorf("key %d's public key: %w", k.Slot, err)
	}
	sum := sha256.Sum256(block.Bytes)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]), nil
}

// WriteSummary writes, into dir, the summary page of a sitting that
// provisioned several accounts: per account its report (path relative to
// dir, SHA-256) and each key's model, credential ID and fingerprint; signed
// by the workstation key like the reports (ssh-keygen -Y verify with any
// report's allowed_signers).
func WriteSummary(dir string, reportDirs []string, s workstation.Signer) (string, error) {
	var b strings.Builder
	b.WriteString("keyceremony — summary of one sitting\n\n")
	fp := ""
	for _, d := range reportDirs {
		body, err := os.ReadFile(filepath.Join(d, FileReport))
		if err != nil {
			return "", err
		}
		r, err := Parse(body)
		if err != nil {
			return "", fmt.Errorf("%s: %w", d, err)
		}
		rel, err := filepath.Rel(dir, filepath.Join(d, FileReport))
		if err != nil {
			rel = filepath.Join(d, FileReport)
		}
		sum := sha256.Sum256(body)
		if r.Rehearsal {
			b.WriteString("REHEARSAL — ")
		}
		fmt.Fprintf(&b, "Account %s (%s)\n", r.Account.UPN, r.Account.ObjectID)
		fmt.Fprintf(&b, "  ceremony        %s\n", r.CeremonyID)
		writeWrapped(&b, "  report          ", rel)
		fmt.Fprintf(&b, "  report SHA-256 %s\n", hex.EncodeToString(sum[:]))
		for _, k := range r.Keys {
			kfp, err := keyFingerprint(k)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "  key %d  %s  (SHA-256 of its credential public key)\n", k.Slot, kfp)
			writeWrapped(&b, "         model       ", k.Model)
			writeWrapped(&b, "         credential  ", k.CredentialID)
		}
		b.WriteString("\n")
		fp = r.Workstation.SignerFingerprint
	}
	fmt.Fprintf(&b, "Signed by the workstation key %s\n\n", fp)
	for _, who := range []string{"Officer A", "Officer B", "Witness  "} {
		fmt.Fprintf(&b, "%s: ______________________________  date and place: ______________________________\n\n", who)
	}
	page := []byte(b.String())
	sig, err := sigfile.Sign(page, s.Key, Namespace)
	if err != nil {
		return "", fmt.Errorf("sign the summary: %w", err)
	}
	// The signature first, the page last and never over another: a crash
	// leaves the page with its signature or no page (see Write).
	if err := durable.WriteFile(filepath.Join(dir, FileSummarySignature), sig, 0o644, true); err != nil {
		return "", err
	}
	if err := durable.WriteFile(filepath.Join(dir, FileSummary), page, 0o644, false); err != nil {
		return "", err
	}
	return filepath.Join(dir, FileSummary), nil
}

// summaryWidth is the widest line of the summary page, so it prints whole
// on A4 and reads whole in a terminal.
const summaryWidth = 100

// writeWrapped writes label and value, continuing a value too long for the
// page on lines indented under its first character.
func writeWrapped(b *strings.Builder, label, value string) {
	room := summaryWidth - len([]rune(label))
	rs := []rune(value)
	for first := true; first || len(rs) > 0; first = false {
		n := min(room, len(rs))
		if first {
			b.WriteString(label)
		} else {
			b.WriteString(strings.Repeat(" ", len([]rune(label))))
		}
		b.WriteString(string(rs[:n]) + "\n")
		rs = rs[n:]
	}
}

package report

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/internal/durable"
	"github.com/keyceremony/keyceremony/sigfile"
	"github.com/keyceremony/keyceremony/workstation"
)

// Namespace is the SSHSIG namespace of keyceremony reports: a signature
// made for another purpose with the same key does not verify as a report.
const Namespace = "keyceremony-report"

// principal is the name the allowed_signers file gives the workstation.
const principal = "workstation"

// File names written beside each other for the safe.
const (
	FileReport         = "report.json"
	FileSignature      = "report.json.sig"       // SSHSIG, for ssh-keygen -Y verify
	fileRawSignature   = "report.json.ecdsa.der" // ECDSA P-256 over SHA-256(report.json), for openssl
	filePublicKey      = "report.pub"            // OpenSSH public key
	filePublicKeyPEM   = "report.pem"            // PKIX public key, for openssl
	fileAllowedSigners = "allowed_signers"       // for ssh-keygen -Y verify
	filePrintable      = "report.txt"            // the page to print for the safe
)

// WriteKey says which key signs this workstation's reports (its kind,
// its fingerprint, its OpenSSH public key) and, when dir is not empty,
// writes it for verifiers into dir (created): report.pub (OpenSSH),
// report.pem (PKIX, for openssl) and allowed_signers (for ssh-keygen -Y
// verify, limited to the report namespace).
func WriteKey(out io.Writer, signer workstation.Signer, dir string) error {
	pub, err := signer.SSHPublicKey()
	if err != nil {
		return err
	}
	fmt.Fprintf(
		out,
		"Workstation report key (%s): %s\n%s",
		signer.Kind,
		ssh.FingerprintSHA256(pub),
		ssh.MarshalAuthorizedKey(pub),
	)
	if dir == "" {
		return nil
	}
	files, err := publicKeyFiles(signer.Key.Public())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var paths []string
	for _, name := range []string{filePublicKey, filePublicKeyPEM, fileAllowedSigners} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return err
		}
		paths = append(paths, path)
	}
	_, err = fmt.Fprintf(out, "Wrote %s\n", strings.Join(paths, ", "))
	return err
}

// publicKeyFiles renders the signing key for verifiers: report.pub
// (OpenSSH), report.pem (PKIX, for openssl) and allowed_signers.
func publicKeyFiles(key crypto.PublicKey) (map[string][]byte, error) {
	pub, err := ssh.NewPublicKey(key)
	if err != nil {
		return nil, err
	}
	pkix, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		filePublicKey:    ssh.MarshalAuthorizedKey(pub),
		filePublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}),
		fileAllowedSigners: []byte(
			fmt.Sprintf("%s namespaces=\"%s\" %s", principal, Namespace, ssh.MarshalAuthorizedKey(pub)),
		),
	}, nil
}

// Written lists what Write put on disk.
type Written struct {
	Dir         string
	ReportJSON  []byte
	Fingerprint string
	Files       []string
}

// Write fills in the signer fields, signs the report and writes the files
// for the safe into dir (created 0700). A rehearsal key never signs a real
// report; a real key may sign a rehearsal report, which still says so.
//
// A crash at any moment leaves either report.json with its signatures or
// no report.json: each file is written whole (a temporary file, fsync'd,
// renamed, the directory fsync'd), the signatures and the other files
// first and report.json last. report.json is never replaced: a dir that
// holds one already is refused, unless it holds these very bytes (an
// interrupted Write of the same report, signed by the same key), whose
// missing files are then written.
func Write(dir string, r *Report, s workstation.Signer) (*Written, error) {
	if s.Kind == workstation.KindRehearsal && !r.Rehearsal {
		return nil, errors.New("a rehearsal key signs rehearsal reports only")
	}
	pub, err := s.SSHPublicKey()
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	r.Workstation.SignerKind = s.Kind
	r.Workstation.SignerFingerprint = ssh.FingerprintSHA256(pub)
	r.Workstation.SignerPublicKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	body, err := r.canonical()
	if err != nil {
		return nil, err
	}
	sig, err := sigfile.Sign(body, s.Key, Namespace)
	if err != nil {
		return nil, fmt.Errorf("sign report: %w", err)
	}
	digest := sha256.Sum256(body)
	raw, err := s.Key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign report (raw ECDSA): %w", err)
	}
	files, err := publicKeyFiles(s.Key.Public())
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	reportPath := filepath.Join(dir, FileReport)
	existing, err := os.ReadFile(reportPath)
	switch {
	case err == nil && !bytes.Equal(existing, body):
		return nil, fmt.Errorf("%s holds another report already: it is never replaced "+
			"(write the report into another folder)", reportPath)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read %s: %w", reportPath, err)
	}
	files[FileReport] = body
	files[FileSignature] = sig
	files[fileRawSignature] = raw
	page, err := render(r, body)
	if err != nil {
		return nil, err
	}
	files[filePrintable] = page
	w := &Written{Dir: dir, ReportJSON: body, Fingerprint: r.Workstation.SignerFingerprint}
	// report.json last: the report exists only with its signatures.
	order := []string{FileSignature, fileRawSignature, filePublicKey, filePublicKeyPEM, fileAllowedSigners,
		filePrintable, FileReport}
	for _, name := range order {
		if name == FileReport && existing != nil {
			w.Files = append(w.Files, reportPath)
			continue // the very bytes, there already
		}
		if err := durable.WriteFile(filepath.Join(dir, name), files[name], 0o644, name != FileReport); err != nil {
			return nil, err
		}
		w.Files = append(w.Files, filepath.Join(dir, name))
	}
	return w, nil
}

package report

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/sigfile"
)

// Namespace is the SSHSIG namespace of keyceremony reports: a signature
// made for another purpose with the same key does not verify as a report.
const Namespace = "keyceremony-report"

// Principal is the name the allowed_signers file gives the workstation.
const Principal = "workstation"

// File names written beside each other for the safe.
const (
	FileReport         = "report.json"
	FileSignature      = "report.json.sig"       // SSHSIG, for ssh-keygen -Y verify
	FileRawSignature   = "report.json.ecdsa.der" // ECDSA P-256 over SHA-256(report.json), for openssl
	FilePublicKey      = "report.pub"            // OpenSSH public key
	FilePublicKeyPEM   = "report.pem"            // PKIX public key, for openssl
	FileAllowedSigners = "allowed_signers"       // for ssh-keygen -Y verify
	FilePrintable      = "report.txt"            // the page to print for the safe
)

// Signer is the key that signs reports and what kind of key it is.
type Signer struct {
	Key  crypto.Signer // an ECDSA P-256 key
	Kind string        // SignerTPM, SignerSoftware or SignerRehearsal
}

// NewRehearsalSigner returns an ephemeral software key for rehearsals.
func NewRehearsalSigner() (Signer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Signer{}, err
	}
	return Signer{Key: k, Kind: SignerRehearsal}, nil
}

// LoadOrCreateSoftwareKey reads (or creates, mode 0600) a PKCS#8 PEM key
// file: the explicit choice for a workstation without a TPM.
func LoadOrCreateSoftwareKey(path string) (Signer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return Signer{}, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return Signer{}, err
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return Signer{}, fmt.Errorf("write software key: %w", err)
		}
		return Signer{Key: k, Kind: SignerSoftware}, nil
	}
	if err != nil {
		return Signer{}, fmt.Errorf("read software key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return Signer{}, fmt.Errorf("software key %s is not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return Signer{}, fmt.Errorf("software key %s: %w", path, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return Signer{}, fmt.Errorf("software key %s is not ECDSA P-256", path)
	}
	return Signer{Key: ek, Kind: SignerSoftware}, nil
}

// OpenWorkstationSigner returns the workstation's report signer: the TPM key
// (created on first use), or, only when softwareKeyPath is given, a software
// key that every report will name as such. Without a TPM and without that
// explicit choice it refuses. close releases the TPM.
func OpenWorkstationSigner(tpmPath, softwareKeyPath string) (s Signer, close func() error, err error) {
	if softwareKeyPath != "" {
		s, err := LoadOrCreateSoftwareKey(softwareKeyPath)
		return s, func() error { return nil }, err
	}
	if tpmPath == "" {
		tpmPath = DefaultTPMPath
	}
	tpm, err := OpenTPM(tpmPath)
	if err != nil {
		return Signer{}, nil, fmt.Errorf("%w; without a TPM a real ceremony needs an explicit --software-key FILE, and its report will say it was signed by a software key", err)
	}
	key, _, err := LoadOrCreateTPMKey(tpm, DefaultKeyHandle)
	if err != nil {
		tpm.Close()
		return Signer{}, nil, err
	}
	return Signer{Key: key, Kind: SignerTPM}, tpm.Close, nil
}

// SSHPublicKey returns the signer's public key in SSH form.
func (s Signer) SSHPublicKey() (ssh.PublicKey, error) {
	return ssh.NewPublicKey(s.Key.Public())
}

// Fingerprint is the OpenSSH SHA256 fingerprint officers copy onto the envelope.
func (s Signer) Fingerprint() (string, error) {
	pub, err := s.SSHPublicKey()
	if err != nil {
		return "", err
	}
	return ssh.FingerprintSHA256(pub), nil
}

// PublicKeyFiles renders the signing key for verifiers: report.pub
// (OpenSSH), report.pem (PKIX, for openssl) and allowed_signers (for
// ssh-keygen -Y verify, limited to the report namespace).
func PublicKeyFiles(key crypto.PublicKey) (map[string][]byte, error) {
	pub, err := ssh.NewPublicKey(key)
	if err != nil {
		return nil, err
	}
	pkix, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		FilePublicKey:      ssh.MarshalAuthorizedKey(pub),
		FilePublicKeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}),
		FileAllowedSigners: []byte(fmt.Sprintf("%s namespaces=\"%s\" %s", Principal, Namespace, ssh.MarshalAuthorizedKey(pub))),
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
func Write(dir string, r *Report, s Signer) (*Written, error) {
	if s.Kind == SignerRehearsal && !r.Rehearsal {
		return nil, errors.New("a rehearsal key signs rehearsal reports only")
	}
	pub, err := s.SSHPublicKey()
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	r.Workstation.SignerKind = s.Kind
	r.Workstation.SignerFingerprint = ssh.FingerprintSHA256(pub)
	r.Workstation.SignerPublicKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	body, err := r.Canonical()
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
	files, err := PublicKeyFiles(s.Key.Public())
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	files[FileReport] = body
	files[FileSignature] = sig
	files[FileRawSignature] = raw
	page, err := Render(r, body)
	if err != nil {
		return nil, err
	}
	files[FilePrintable] = page
	w := &Written{Dir: dir, ReportJSON: body, Fingerprint: r.Workstation.SignerFingerprint}
	for _, name := range []string{FileReport, FileSignature, FileRawSignature, FilePublicKey, FilePublicKeyPEM, FileAllowedSigners, FilePrintable} {
		if err := writeSynced(filepath.Join(dir, name), files[name]); err != nil {
			return nil, err
		}
		w.Files = append(w.Files, filepath.Join(dir, name))
	}
	return w, nil
}

// writeSynced writes a file and fsyncs it: the report goes into a safe.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return f.Close()
}

package workstation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/crypto/ssh"
)

// ErrNoTPM is wrapped when the TPM cannot be opened and no software key
// was chosen.
var ErrNoTPM = errors.New("no TPM")

// Kinds of signing key, as reports record them.
const (
	kindTPM       = "tpm"
	kindSoftware  = "software"  // a real ceremony without a TPM, by explicit choice
	KindRehearsal = "rehearsal" // an ephemeral software key: what it signs proves nothing
)

// Signer is the key that signs reports and what kind of key it is.
type Signer struct {
	Key  crypto.Signer // an ECDSA P-256 key
	Kind string        // "tpm", "software" or KindRehearsal, as reports record it
}

// NewRehearsal returns an ephemeral software key for rehearsals.
func NewRehearsal() (Signer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Signer{}, err
	}
	return Signer{Key: k, Kind: KindRehearsal}, nil
}

// loadOrCreateSoftware reads (or creates, mode 0600) a PKCS#8 PEM key
// file: the explicit choice for a workstation without a TPM. A key it
// creates, notice hears of, with its fingerprint.
func loadOrCreateSoftware(path string, notice io.Writer) (Signer, error) {
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
		block := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err := os.WriteFile(path, block, 0o600); err != nil {
			return Signer{}, fmt.Errorf("write software key: %w", err)
		}
		s := Signer{Key: k, Kind: kindSoftware}
		fp, err := s.Fingerprint()
		if err != nil {
			return Signer{}, err
		}
		fmt.Fprintf(
			notice,
			"There was no key at %s: created a NEW software key there, %s.\n"+
				"If you meant an existing key, stop and check the path.\n",
			path,
			fp,
		)
		return s, nil
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
	return Signer{Key: ek, Kind: kindSoftware}, nil
}

// Open returns the workstation's report signer: the TPM key
// (created on first use), or, only when softwareKeyPath is given, a software
// key that every report will name as such. Without a TPM and without that
// explicit choice it refuses. close releases the TPM. A software key that
// is not there yet (a first use, or a slip in the path) is made, and
// notice hears so, with its fingerprint, so the officers can stop.
func Open(tpmPath, softwareKeyPath string, notice io.Writer) (s Signer, close func() error, err error) {
	if softwareKeyPath != "" {
		s, err := loadOrCreateSoftware(softwareKeyPath, notice)
		return s, func() error { return nil }, err
	}
	if tpmPath == "" {
		tpmPath = DefaultTPMPath
	}
	tpm, err := openTPM(tpmPath)
	if err != nil {
		return Signer{}, nil, fmt.Errorf(
			"%w: %v; without a TPM, a software key must be chosen explicitly, "+
				"and what it signs says it was a software key",
			ErrNoTPM,
			err,
		)
	}
	key, _, err := loadOrCreateTPMKey(tpm, defaultKeyHandle)
	if err != nil {
		tpm.Close()
		return Signer{}, nil, err
	}
	return Signer{Key: key, Kind: kindTPM}, tpm.Close, nil
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

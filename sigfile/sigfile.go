package sigfile

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// Verification failures; match with errors.Is.
var (
	ErrDamaged  = errors.New("the signature is damaged or is not an SSH signature")
	ErrWrongKey = errors.New("signed by another key than the one trusted")
	ErrTampered = errors.New("the signature does not match: the file or its signature was changed")
)

// Sign returns the armored SSHSIG signature of data by key in namespace.
func Sign(data []byte, key crypto.Signer, namespace string) ([]byte, error) {
	signer, err := ssh.NewSignerFromSigner(key)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	sig, err := sshsig.Sign(bytes.NewReader(data), signer, sshsig.HashSHA512, namespace)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return sshsig.Armor(sig), nil
}

// Verify checks an armored SSHSIG signature of data by pub in namespace.
func Verify(data, armored []byte, pub ssh.PublicKey, namespace string) error {
	sig, err := sshsig.Unarmor(armored)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	// Only the exact armor we write is accepted, so that no byte of the
	// file can change unnoticed (not even base64 padding bits or spacing).
	if !bytes.Equal(sshsig.Armor(sig), armored) {
		return fmt.Errorf("%w: the signature file was altered (not the armor keyceremony writes)", ErrDamaged)
	}
	if err := sshsig.Verify(bytes.NewReader(data), sig, pub, sig.HashAlgorithm, namespace); err != nil {
		if errors.Is(err, sshsig.ErrPublicKeyMismatch) {
			return fmt.Errorf(
				"%w (signed by %s, trusted %s)",
				ErrWrongKey,
				ssh.FingerprintSHA256(sig.PublicKey),
				ssh.FingerprintSHA256(pub),
			)
		}
		return fmt.Errorf("%w (%v)", ErrTampered, err)
	}
	return nil
}

package ctapwire

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
)

// PINProtocol is a PIN/UV auth protocol (CTAP 2.1 §6.5.6 and 6.5.7): the
// key derivation, encryption and authentication both sides perform. The
// platform and the authenticator (simkey) use the same implementation.
type PINProtocol interface {
	// Version is 1 or 2.
	Version() int
	// KDF derives the shared secret from the ECDH x-coordinate Z.
	KDF(z []byte) ([]byte, error)
	// Encrypt encrypts plaintext (a multiple of 16 bytes) with the shared secret.
	Encrypt(sharedSecret, plaintext []byte) ([]byte, error)
	// Decrypt reverses Encrypt.
	Decrypt(sharedSecret, ciphertext []byte) ([]byte, error)
	// Authenticate computes pinUvAuthParam over message with key (a shared
	// secret or a pinUvAuthToken).
	Authenticate(key, message []byte) []byte
}

// ProtocolByVersion returns PIN/UV auth protocol 1 or 2.
func ProtocolByVersion(v int) (PINProtocol, error) {
	switch v {
	case 1:
		return PINProtocolOne{}, nil
	case 2:
		return PINProtocolTwo{}, nil
	}
	return nil, fmt.Errorf("PIN/UV auth protocol %d is not supported", v)
}

// VerifyAuth checks a pinUvAuthParam in constant time.
func VerifyAuth(p PINProtocol, key, message, param []byte) bool {
	want := p.Authenticate(key, message)
	return len(param) == len(want) && subtle.ConstantTimeCompare(want, param) == 1
}

// Encapsulate performs the platform half of key agreement with the
// authenticator's public key: it returns the platform public key to send and
// the shared secret.
func Encapsulate(p PINProtocol, peer *ecdh.PublicKey) (COSEKey, []byte, error) {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return COSEKey{}, nil, fmt.Errorf("key agreement: %w", err)
	}
	z, err := priv.ECDH(peer)
	if err != nil {
		return COSEKey{}, nil, fmt.Errorf("key agreement: %w", err)
	}
	defer clear(z)
	secret, err := p.KDF(z)
	if err != nil {
		return COSEKey{}, nil, err
	}
	return COSEKeyFromECDH(priv.PublicKey()), secret, nil
}

// PINProtocolOne is PIN/UV auth protocol 1: SHA-256(Z), AES-256-CBC with a
// zero IV, HMAC-SHA-256 truncated to 16 bytes.
type PINProtocolOne struct{}

// Version implements PINProtocol.
func (PINProtocolOne) Version() int { return 1 }

// KDF implements PINProtocol.
func (PINProtocolOne) KDF(z []byte) ([]byte, error) {
	h := sha256.Sum256(z)
	return h[:], nil
}

// Encrypt implements PINProtocol.
func (PINProtocolOne) Encrypt(key, pt []byte) ([]byte, error) {
	return cbcCrypt(key[:32], make([]byte, aes.BlockSize), pt, true)
}

// Decrypt implements PINProtocol.
func (PINProtocolOne) Decrypt(key, ct []byte) ([]byte, error) {
	return cbcCrypt(key[:32], make([]byte, aes.BlockSize), ct, false)
}

// Authenticate implements PINProtocol.
func (PINProtocolOne) Authenticate(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)[:16]
}

// PINProtocolTwo is PIN/UV auth protocol 2: HKDF-SHA-256 into separate HMAC
// and AES keys, AES-256-CBC with a random IV, full HMAC-SHA-256.
type PINProtocolTwo struct{}

// Version implements PINProtocol.
func (PINProtocolTwo) Version() int { return 2 }

// KDF implements PINProtocol: HMAC key || AES key, 64 bytes.
func (PINProtocolTwo) KDF(z []byte) ([]byte, error) {
	salt := make([]byte, 32)
	hmacKey, err := hkdf.Key(sha256.New, z, salt, "CTAP2 HMAC key", 32)
	if err != nil {
		return nil, fmt.Errorf("hkdf: %w", err)
	}
	aesKey, err := hkdf.Key(sha256.New, z, salt, "CTAP2 AES key", 32)
	if err != nil {
		return nil, fmt.Errorf("hkdf: %w", err)
	}
	return append(hmacKey, aesKey...), nil
}

// aesKey picks the AES half of a protocol 2 shared secret.
func (PINProtocolTwo) aesKey(key []byte) ([]byte, error) {
	if len(key) != 64 {
		return nil, errors.New("protocol 2 shared secret must be 64 bytes")
	}
	return key[32:], nil
}

// Encrypt implements PINProtocol: a random IV is prepended.
func (p PINProtocolTwo) Encrypt(key, pt []byte) ([]byte, error) {
	k, err := p.aesKey(key)
	if err != nil {
		return nil, err
	}
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	ct, err := cbcCrypt(k, iv, pt, true)
	if err != nil {
		return nil, err
	}
	return append(iv, ct...), nil
}

// Decrypt implements PINProtocol.
func (p PINProtocolTwo) Decrypt(key, ct []byte) ([]byte, error) {
	k, err := p.aesKey(key)
	if err != nil {
		return nil, err
	}
	if len(ct) < aes.BlockSize {
		return nil, errors.New("ciphertext shorter than its IV")
	}
	return cbcCrypt(k, ct[:aes.BlockSize], ct[aes.BlockSize:], false)
}

// Authenticate implements PINProtocol. With a 64-byte shared secret the
// HMAC key is its first half; a 32-byte pinUvAuthToken is used whole.
func (PINProtocolTwo) Authenticate(key, msg []byte) []byte {
	if len(key) == 64 {
		key = key[:32]
	}
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

func cbcCrypt(key, iv, in []byte, encrypt bool) ([]byte, error) {
	if len(in)%aes.BlockSize != 0 || len(in) == 0 {
		return nil, fmt.Errorf("AES-CBC input of %d bytes is not a whole number of blocks", len(in))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(in))
	if encrypt {
		cipher.NewCBCEncrypter(b, iv).CryptBlocks(out, in)
	} else {
		cipher.NewCBCDecrypter(b, iv).CryptBlocks(out, in)
	}
	return out, nil
}

package ctapwire

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
)

// COSE identifiers used by FIDO2 (RFC 9052/9053, IANA COSE registry).
const (
	COSEKtyOKP = 1
	COSEKtyEC2 = 2

	COSEAlgES256      = -7
	COSEAlgEdDSA      = -8
	COSEAlgECDHESHKDF = -25
	COSECrvP256       = 1
	COSECrvEd25519    = 6
)

// COSEKey is an EC2 or OKP public key as FIDO authenticators encode it.
type COSEKey struct {
	Kty int    `cbor:"1,keyasint"`
	Alg int    `cbor:"3,keyasint"`
	Crv int    `cbor:"-1,keyasint"`
	X   []byte `cbor:"-2,keyasint"`
	Y   []byte `cbor:"-3,keyasint,omitempty"`
}

// COSEKeyFromECDH builds the COSE form of a P-256 key-agreement key.
func COSEKeyFromECDH(pub *ecdh.PublicKey) COSEKey {
	b := pub.Bytes() // 0x04 || X || Y
	return COSEKey{Kty: COSEKtyEC2, Alg: COSEAlgECDHESHKDF, Crv: COSECrvP256, X: b[1:33], Y: b[33:65]}
}

// COSEKeyFromECDSA builds the COSE form of an ES256 credential public key.
func COSEKeyFromECDSA(pub *ecdsa.PublicKey) COSEKey {
	b, _ := pub.ECDH() // P-256 always converts
	k := COSEKeyFromECDH(b)
	k.Alg = COSEAlgES256
	return k
}

// ECDH returns the key as a P-256 key-agreement public key.
func (k COSEKey) ECDH() (*ecdh.PublicKey, error) {
	if k.Kty != COSEKtyEC2 || k.Crv != COSECrvP256 || len(k.X) != 32 || len(k.Y) != 32 {
		return nil, fmt.Errorf("%w: key agreement key is not a P-256 EC2 key", ErrMalformedReply)
	}
	raw := make([]byte, 0, 65)
	raw = append(append(append(raw, 4), k.X...), k.Y...)
	pub, err := ecdh.P256().NewPublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: key agreement point: %v", ErrMalformedReply, err)
	}
	return pub, nil
}

// PublicKey returns the credential public key (*ecdsa.PublicKey or ed25519.PublicKey).
func (k COSEKey) PublicKey() (any, error) {
	switch {
	case k.Kty == COSEKtyEC2 && k.Alg == COSEAlgES256:
		e, err := k.ECDH()
		if err != nil {
			return nil, err
		}
		raw := e.Bytes()
		return &ecdsa.PublicKey{
			Curve: elliptic.P256(),
			X:     new(big.Int).SetBytes(raw[1:33]),
			Y:     new(big.Int).SetBytes(raw[33:]),
		}, nil
	case k.Kty == COSEKtyOKP && k.Alg == COSEAlgEdDSA && k.Crv == COSECrvEd25519 && len(k.X) == ed25519.PublicKeySize:
		return ed25519.PublicKey(k.X), nil
	}
	return nil, fmt.Errorf("unsupported credential key (kty %d, alg %d, crv %d)", k.Kty, k.Alg, k.Crv)
}

// ParseCOSEKey decodes a CBOR COSE public key.
func ParseCOSEKey(raw []byte) (COSEKey, error) {
	var k COSEKey
	if err := Unmarshal(raw, &k); err != nil {
		return k, fmt.Errorf("%w: COSE key: %v", ErrMalformedReply, err)
	}
	return k, nil
}

// VerifySignature checks a WebAuthn signature over authData || clientDataHash
// with the COSE public key of a credential.
func VerifySignature(coseKey []byte, authData, clientDataHash, sig []byte) error {
	k, err := ParseCOSEKey(coseKey)
	if err != nil {
		return err
	}
	pub, err := k.PublicKey()
	if err != nil {
		return err
	}
	msg := make([]byte, 0, len(authData)+len(clientDataHash))
	msg = append(append(msg, authData...), clientDataHash...)
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		h := sha256.Sum256(msg)
		if !ecdsa.VerifyASN1(p, h[:], sig) {
			return errors.New("signature does not verify with the credential public key")
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(p, msg, sig) {
			return errors.New("signature does not verify with the credential public key")
		}
	}
	return nil
}

package testca

import (
	"crypto/ecdsa"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"errors"
	"fmt"
)

var (
	//go:embed root.pem
	rootPEM []byte
	//go:embed root-key.pem
	rootKeyPEM []byte
)

// AAGUID returns simkey's AAGUID: the ASCII bytes "keyceremony-simk"
// (6b657963-6572-656d-6f6e-792d73696d6b).
func AAGUID() [16]byte {
	var a [16]byte
	copy(a[:], "keyceremony-simk")
	return a
}

// RootPEM returns the simkey TEST attestation root certificate (PEM).
func RootPEM() []byte { return append([]byte(nil), rootPEM...) }

// Root returns the parsed simkey TEST attestation root.
func Root() (*x509.Certificate, error) {
	b, _ := pem.Decode(rootPEM)
	if b == nil {
		return nil, errors.New("testca: embedded root is not PEM")
	}
	return x509.ParseCertificate(b.Bytes)
}

// RootKey returns the root's private key, for simkey to sign its batch
// attestation certificates.
func RootKey() (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode(rootKeyPEM)
	if b == nil {
		return nil, errors.New("testca: embedded root key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("testca: embedded root key: %w", err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("testca: embedded root key is not ECDSA")
	}
	return ek, nil
}

// ModelName is the model name a rehearsal gives simkey's AAGUID.
const ModelName = "keyceremony simkey (rehearsal)"

// AAGUIDString is simkey's AAGUID in the canonical 8-4-4-4-12 form.
func AAGUIDString() string {
	a := AAGUID()
	return fmt.Sprintf("%x-%x-%x-%x-%x", a[0:4], a[4:6], a[6:8], a[8:10], a[10:16])
}

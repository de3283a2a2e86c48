package simkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
)

// The simkey test attestation root. Its private key is public on purpose:
// this root proves nothing and is trusted only in rehearsal mode. The
// attest package recognises it and refuses it in a real ceremony.
var (
	//go:embed testca/root.pem
	rootPEM []byte
	//go:embed testca/root-key.pem
	rootKeyPEM []byte
)

// DefaultAAGUID returns simkey's AAGUID: the ASCII bytes "keyceremony-simk"
// (6b657963-6572-656d-6f6e-792d73696d6b).
func DefaultAAGUID() ctap.AAGUID {
	var a ctap.AAGUID
	copy(a[:], "keyceremony-simk")
	return a
}

// OIDFIDOGenCeAAGUID returns id-fido-gen-ce-aaguid, the attestation
// certificate extension that carries the AAGUID.
func OIDFIDOGenCeAAGUID() asn1.ObjectIdentifier {
	return asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}
}

// TestRootPEM returns the simkey test attestation root certificate (PEM).
func TestRootPEM() []byte { return append([]byte(nil), rootPEM...) }

// TestRoot returns the parsed simkey test attestation root.
func TestRoot() (*x509.Certificate, error) {
	b, _ := pem.Decode(rootPEM)
	if b == nil {
		return nil, errors.New("simkey: embedded root is not PEM")
	}
	return x509.ParseCertificate(b.Bytes)
}

func testRootKey() (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode(rootKeyPEM)
	if b == nil {
		return nil, errors.New("simkey: embedded root key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("simkey: embedded root key: %w", err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("simkey: embedded root key is not ECDSA")
	}
	return ek, nil
}

// newAttestation makes a batch attestation key and certificate for aaguid,
// signed by the test root, meeting the WebAuthn packed-attestation
// certificate requirements (C, O, OU "Authenticator Attestation", CN,
// CA=false, AAGUID extension not critical).
func newAttestation(aaguid ctap.AAGUID, now time.Time) (key *ecdsa.PrivateKey, certDER []byte, err error) {
	root, err := TestRoot()
	if err != nil {
		return nil, nil, err
	}
	rootKey, err := testRootKey()
	if err != nil {
		return nil, nil, err
	}
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	ext, err := asn1.Marshal(aaguid[:])
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Country: []string{"ZZ"}, Organization: []string{"keyceremony rehearsal"},
			OrganizationalUnit: []string{"Authenticator Attestation"},
			CommonName:         "keyceremony simkey TEST batch attestation",
		},
		NotBefore:             now.Add(-time.Hour).UTC(),
		NotAfter:              time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC),
		BasicConstraintsValid: true,
		IsCA:                  false,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtraExtensions:       []pkix.Extension{{Id: OIDFIDOGenCeAAGUID(), Value: ext}},
	}
	certDER, err = x509.CreateCertificate(rand.Reader, tmpl, root, &key.PublicKey, rootKey)
	if err != nil {
		return nil, nil, fmt.Errorf("simkey: attestation certificate: %w", err)
	}
	return key, certDER, nil
}

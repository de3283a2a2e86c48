package simkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/sim/testca"
)

// DefaultAAGUID returns simkey's AAGUID: the ASCII bytes "keyceremony-simk"
// (6b657963-6572-656d-6f6e-792d73696d6b).
func DefaultAAGUID() ctap.AAGUID { return ctap.AAGUID(testca.AAGUID()) }

// OIDFIDOGenCeAAGUID returns id-fido-gen-ce-aaguid, the attestation
// certificate extension that carries the AAGUID.
func OIDFIDOGenCeAAGUID() asn1.ObjectIdentifier {
	return asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}
}

// TestRootPEM returns the simkey test attestation root certificate (PEM).
func TestRootPEM() []byte { return testca.RootPEM() }

// TestRoot returns the parsed simkey test attestation root.
func TestRoot() (*x509.Certificate, error) { return testca.Root() }

// newAttestation makes a batch attestation key and certificate for aaguid,
// signed by the test root, meeting the WebAuthn packed-attestation
// certificate requirements (C, O, OU "Authenticator Attestation", CN,
// CA=false, AAGUID extension not critical).
func newAttestation(aaguid ctap.AAGUID) (key *ecdsa.PrivateKey, certDER []byte, err error) {
	root, err := TestRoot()
	if err != nil {
		return nil, nil, err
	}
	rootKey, err := testca.RootKey()
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
		// A batch certificate is issued at manufacturing, long before use.
		NotBefore:             time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
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

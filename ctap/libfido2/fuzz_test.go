//go:build libfido2 && cgo

package libfido2

import (
	"bytes"
	"testing"

	gofido2 "github.com/keys-pub/go-libfido2"

	"github.com/keyceremony/keyceremony/internal/ctapwire"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
)

// FuzzRebuildAttestation feeds the rebuild what libfido2 hands over from a
// device: it must fail cleanly or give an attestationObject whose authData
// and attStmt parse back.
func FuzzRebuildAttestation(f *testing.F) {
	key, err := simkey.New(simkey.Config{})
	if err != nil {
		f.Fatal(err)
	}
	authData, _ := ctapwire.Marshal(bytes.Repeat([]byte{1}, 37))
	f.Add(authData, "packed", key.AttestationCertificate(), []byte{0x30, 0x02, 0x02, 0x00})
	f.Add(authData, "packed", []byte{}, []byte{1})
	f.Add(authData, "fido-u2f", key.AttestationCertificate(), []byte{1})
	f.Add(authData, "none", []byte{}, []byte{})
	f.Add([]byte{0x41}, "tpm", []byte{0x30}, []byte{})
	f.Fuzz(func(t *testing.T, authData []byte, format string, cert, sig []byte) {
		res, err := rebuildAttestation(&gofido2.Attestation{AuthData: authData, Format: format, Cert: cert, Sig: sig, CredentialType: gofido2.ES256})
		if err != nil {
			return
		}
		obj, err := res.AttestationObject()
		if err != nil {
			t.Fatal(err)
		}
		var back struct {
			Fmt      string         `cbor:"fmt"`
			AttStmt  map[string]any `cbor:"attStmt"`
			AuthData []byte         `cbor:"authData"`
		}
		if err := ctapwire.Unmarshal(obj, &back); err != nil || back.Fmt != format || !bytes.Equal(back.AuthData, res.AuthData) {
			t.Fatalf("attestationObject does not parse back: %v", err)
		}
	})
}

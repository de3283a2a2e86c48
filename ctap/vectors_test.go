package ctap

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyceremony/keyceremony/internal/ctapwire"
	"github.com/keyceremony/keyceremony/internal/testenv"
)

type vector struct {
	About struct {
		Device, Format, RPID, Origin, AAGUID string
	} `json:"about"`
	Registration struct {
		ID       string `json:"id"`
		RawID    string `json:"rawId"`
		Response struct {
			ClientDataJSON    string `json:"clientDataJSON"`
			AttestationObject string `json:"attestationObject"`
		} `json:"response"`
	} `json:"registration"`
	Assertion *struct {
		ID       string `json:"id"`
		Response struct {
			ClientDataJSON    string `json:"clientDataJSON"`
			AuthenticatorData string `json:"authenticatorData"`
			Signature         string `json:"signature"`
		} `json:"response"`
	} `json:"assertion"`
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64url %q: %v", s, err)
	}
	return b
}

// Real registrations parse exactly: fmt, authData fields, the credential,
// a byte-exact attestationObject rebuild, and the later assertion's
// signature under the registered public key (and not under a flipped byte).
func TestRealDeviceVectorsParse(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testenv.VectorsDir(t, 1), "registrations", "*.json"))
	if len(files) == 0 {
		t.Fatal("no registration vectors")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var v vector
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			attObj := b64(t, v.Registration.Response.AttestationObject)
			var obj struct {
				Fmt      string              `cbor:"fmt"`
				AttStmt  ctapwire.RawMessage `cbor:"attStmt"`
				AuthData []byte              `cbor:"authData"`
			}
			if err := ctapwire.Unmarshal(attObj, &obj); err != nil {
				t.Fatalf("attestationObject: %v", err)
			}
			if obj.Fmt != v.About.Format {
				t.Fatalf("fmt %q, want %q", obj.Fmt, v.About.Format)
			}
			ad, err := ParseAuthData(obj.AuthData)
			if err != nil {
				t.Fatal(err)
			}
			if want := sha256.Sum256([]byte(v.About.RPID)); ad.RPIDHash != want {
				t.Error("rpIdHash is not SHA-256 of the RP ID")
			}
			if ad.Flags&ctapwire.FlagAT == 0 || ad.Flags&ctapwire.FlagUP == 0 {
				t.Errorf("flags %02x", ad.Flags)
			}
			if ad.AAGUID.String() != v.About.AAGUID {
				t.Errorf("AAGUID %s, want %s", ad.AAGUID, v.About.AAGUID)
			}
			if !bytes.Equal(ad.CredentialID, b64(t, v.Registration.RawID)) {
				t.Error("credential ID differs from rawId")
			}
			key, err := ctapwire.ParseCOSEKey(ad.CredentialKey)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := key.PublicKey(); err != nil {
				t.Fatal(err)
			}
			rebuilt, err := (&MakeCredentialResult{Format: obj.Fmt, AuthData: obj.AuthData, AttStmt: obj.AttStmt}).AttestationObject()
			if err != nil || !bytes.Equal(rebuilt, attObj) {
				t.Errorf("attestationObject rebuild is not byte-exact (%v)", err)
			}
			var cd struct{ Type, Origin string }
			if err := json.Unmarshal(b64(t, v.Registration.Response.ClientDataJSON), &cd); err != nil || cd.Type != "webauthn.create" || cd.Origin != v.About.Origin {
				t.Errorf("clientDataJSON %+v %v", cd, err)
			}
			if v.Assertion == nil {
				return
			}
			if v.Assertion.ID != v.Registration.ID {
				t.Fatal("assertion is by another credential")
			}
			aad := b64(t, v.Assertion.Response.AuthenticatorData)
			cdh := sha256.Sum256(b64(t, v.Assertion.Response.ClientDataJSON))
			sig := b64(t, v.Assertion.Response.Signature)
			if err := ctapwire.VerifySignature(ad.CredentialKey, aad, cdh[:], sig); err != nil {
				t.Fatalf("real assertion: %v", err)
			}
			for i := range aad {
				bad := append([]byte(nil), aad...)
				bad[i] ^= 0x01
				if ctapwire.VerifySignature(ad.CredentialKey, bad, cdh[:], sig) == nil {
					t.Fatalf("assertion verified with authenticator data byte %d changed", i)
				}
			}
		})
	}
}

package attest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// attObject is an attestationObject taken apart for rewriting.
type attObject struct {
	Fmt      string              `cbor:"fmt"`
	AttStmt  ctapwire.RawMessage `cbor:"attStmt"`
	AuthData []byte              `cbor:"authData"`
}

// realInput loads a golden vector's registration as attObject and clientDataJSON.
func realInput(t *testing.T, name string) (attObject, []byte, goldenVector) {
	t.Helper()
	g, ok := loadGolden(t)[name]
	if !ok {
		t.Fatalf("no golden vector %s", name)
	}
	var reg registrationJSON
	if err := json.Unmarshal(g.Registration, &reg); err != nil {
		t.Fatal(err)
	}
	ao, _ := decodeB64URL(reg.Response.AttestationObject)
	cd, _ := decodeB64URL(reg.Response.ClientDataJSON)
	var o attObject
	if err := ctapwire.Unmarshal(ao, &o); err != nil {
		t.Fatal(err)
	}
	return o, cd, g
}

func (o attObject) input(t *testing.T, clientData []byte) Input {
	t.Helper()
	b, err := ctapwire.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return Input{AttestationObject: b, ClientDataJSON: clientData}
}

func sortedCodes(v *Verdict) string {
	var codes []string
	for _, r := range v.Reasons {
		codes = append(codes, r.Code)
	}
	sort.Strings(codes)
	return strings.Join(codes, ",")
}

// The security hole of issue 12: a genuine fido-u2f registration (a real
// YubiKey NEO, ../shared/vectors) whose authenticator-data AAGUID was
// rewritten to an allowed YubiKey 5 NFC AAGUID. The U2F signature does not
// cover the AAGUID (WebAuthn §8.6, FIDO U2F raw message formats §4.3), so
// the statement still verifies: the claim must be refused and name nothing.
func TestU2FWithRewrittenAAGUIDIsRefused(t *testing.T) {
	o, cd, g := realInput(t, "yubikey-neo-fido-u2f.json")
	allowed, _ := ctap.ParseAAGUID("2fc0579f-8113-47ea-b116-bb5a8db9202a") // YubiKey 5 NFC, on the default allowlist
	copy(o.AuthData[37:53], allowed[:])
	v, err := defaultVerifier(t).Verify(o.input(t, cd), Expect{RPID: g.rpID(), Origin: g.About.Origin})
	if err != nil {
		t.Fatal(err)
	}
	if v.Allowed || v.Model != "" || !v.HasReason(reasonU2FAAGUID) || !v.HasReason(reasonAAGUIDNotAllowed) {
		t.Fatalf("rewritten fido-u2f AAGUID: allowed=%v model=%q reasons=%s", v.Allowed, v.Model, sortedCodes(v))
	}
	if !v.Trusted {
		t.Fatalf("the statement itself is genuine (the AAGUID is not signed) and should verify: %s", sortedCodes(v))
	}
}

// Forged fido-u2f statements, signed by a trusted test CA: any non-zero
// AAGUID, and the AAGUID of an allowed model, are refused for it; for Entra
// the format itself is refused too.
func TestForgedU2F(t *testing.T) {
	trusted := newCA(t, "Trusted Test Root")
	yk, _ := ctap.ParseAAGUID("2fc0579f-8113-47ea-b116-bb5a8db9202a")
	pol := testPolicy(t, []testCA{trusted}, nil, nil, AllowedModel{AAGUID: yk.String(), Name: "YubiKey 5 NFC"})
	vf := &Verifier{Policy: pol, Now: func() time.Time { return testNow }}
	cert, key := issue(t, trusted, nil)
	other, _ := ctap.ParseAAGUID("01020304-0506-0708-090a-0b0c0d0e0f10")
	for _, tc := range []struct {
		name   string
		aaguid ctap.AAGUID
		want   string
	}{
		{"zero AAGUID", ctap.AAGUID{}, "aaguid-not-allowed,entra-format"},
		{"non-zero AAGUID", other, "aaguid-not-allowed,entra-format,u2f-aaguid"},
		{"AAGUID of an allowed model", yk, "aaguid-not-allowed,entra-format,u2f-aaguid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := vf.Verify(registration{format: "fido-u2f", aaguid: tc.aaguid, attCert: cert, attKey: key}.build(t), Expect{RPID: entraRPID, Origin: "https://login.microsoft.com"})
			if err != nil {
				t.Fatal(err)
			}
			if !v.Trusted || v.Allowed || v.Model != "" || sortedCodes(v) != tc.want {
				t.Fatalf("trusted=%v allowed=%v model=%q reasons=%s, want trusted, refused for %s", v.Trusted, v.Allowed, v.Model, sortedCodes(v), tc.want)
			}
		})
	}
}

// tpmForgery re-signs the certInfo of the real Windows Hello registration
// (py_webauthn, Nuvoton ECC) with a new AIK key whose certificate a test CA
// issues; change alters that certificate. authData, clientData, pubArea
// and certInfo stay the real ones, so every other check still holds.
func tpmForgery(t *testing.T, ca testCA, change func(*x509.Certificate)) (Input, goldenVector) {
	t.Helper()
	o, cd, g := realInput(t, "py_webauthn-tpm-verify-tpm-with-ecc-public-area-type.json")
	var stmt map[string]any
	if err := ctapwire.Unmarshal(o.AttStmt, &stmt); err != nil {
		t.Fatal(err)
	}
	aik, _ := rsa.GenerateKey(rand.Reader, 2048)
	rdn, _ := asn1.Marshal(pkix.RDNSequence{
		{{Type: oidTPMManufacturer, Value: "id:4E544300"}}, {{Type: oidTPMModel, Value: "NPCT75x"}}, {{Type: oidTPMVersion, Value: "id:0007"}},
	})
	san, _ := asn1.Marshal([]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: rdn}})
	// go-webauthn checks a tpm AIK certificate's dates at the machine's
	// clock, the verifier at its own (testNow): the forgery must be valid at
	// both, or this test turns red the day after testNow (it did, on
	// 2026-11-25, with "outside its validity period by this machine's clock").
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), NotBefore: testNow.Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		BasicConstraintsValid: true, UnknownExtKeyUsage: []asn1.ObjectIdentifier{oidTCGKpAIKCertificte},
		ExtraExtensions: []pkix.Extension{{Id: oidSubjectAltName, Critical: true, Value: san}},
	}
	if change != nil {
		change(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &aik.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	// The real statement's alg is RS1 (-65535), as Windows sends it.
	h := sha1.Sum(stmt["certInfo"].([]byte))
	stmt["sig"], _ = rsa.SignPKCS1v15(rand.Reader, aik, crypto.SHA1, h[:])
	stmt["x5c"] = []any{der}
	if o.AttStmt, err = ctapwire.Marshal(stmt); err != nil {
		t.Fatal(err)
	}
	return o.input(t, cd), g
}

// WebAuthn §8.3.1: the AIK certificate must carry the TPM manufacturer in a
// (critical) subjectAlternativeName and the tcg-kp-AIKCertificate usage.
func TestForgedTPM(t *testing.T) {
	ca := newCA(t, "Test TPM Root")
	pol := testPolicy(t, []testCA{ca}, nil, nil, AllowedModel{AAGUID: "08987058-cadc-4b81-b6e1-30de50dcbe96", Name: "Windows Hello"})
	vf := &Verifier{Policy: pol, Now: func() time.Time { return testNow }}
	for _, tc := range []struct {
		name   string
		change func(*x509.Certificate)
		want   string
	}{
		{"control: a well-formed AIK certificate", nil, ""},
		{"TPM SAN removed", func(c *x509.Certificate) { c.ExtraExtensions = nil }, "tpm-aik-cert"},
		{"wrong EKU", func(c *x509.Certificate) {
			c.UnknownExtKeyUsage = nil
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		}, "tpm-aik-cert"},
		{"another unhandled critical extension", func(c *x509.Certificate) {
			c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Critical: true, Value: []byte{5, 0}})
		}, "chain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, g := tpmForgery(t, ca, tc.change)
			v, err := vf.Verify(in, Expect{RPID: g.rpID(), Origin: g.About.Origin})
			if err != nil {
				t.Fatal(err)
			}
			if sortedCodes(v) != tc.want || v.Allowed != (tc.want == "") {
				t.Fatalf("reasons %q (allowed %v), want %q: %+v", sortedCodes(v), v.Allowed, tc.want, v.Reasons)
			}
		})
	}
}

// An expired attestation certificate is refused as expired, with its
// dates, not as a bad signature; and one reason never masks another: an
// expired certificate with a bad signature, or an AAGUID mismatch with a
// bad signature, lists both.
func TestReasonsAreIndependent(t *testing.T) {
	rootCert, rootKey := issueWith(t, testCA{}, nil, func(c *x509.Certificate) {
		c.Subject = pkix.Name{CommonName: "Trusted Test Root"}
		c.IsCA, c.KeyUsage = true, x509.KeyUsageCertSign
		c.NotBefore = testNow.AddDate(-5, 0, 0)
	})
	trusted := testCA{rootCert, rootKey}
	yk, _ := ctap.ParseAAGUID("2fc0579f-8113-47ea-b116-bb5a8db9202a")
	other, _ := ctap.ParseAAGUID("ee882879-721c-4913-9775-3dfcce97072a")
	pol := testPolicy(t, []testCA{trusted}, nil, nil, AllowedModel{AAGUID: yk.String(), Name: "YubiKey 5 NFC"})
	vf := &Verifier{Policy: pol, Now: func() time.Time { return testNow }}
	expiredCert, expiredKey := issueWith(t, trusted, &yk, func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = testNow.AddDate(-2, 0, 0), testNow.AddDate(0, 0, -3)
	})
	mismatchCert, mismatchKey := issue(t, trusted, &other)
	for _, tc := range []struct {
		name string
		reg  registration
		want string
	}{
		{"expired leaf", registration{aaguid: yk, attCert: expiredCert, attKey: expiredKey}, "expired"},
		{"expired leaf and a bad signature", registration{aaguid: yk, attCert: expiredCert, attKey: expiredKey, flipSig: true}, "expired,signature"},
		{"AAGUID mismatch and a bad signature", registration{aaguid: yk, attCert: mismatchCert, attKey: mismatchKey, flipSig: true}, "aaguid-mismatch,signature"},
		{"AAGUID mismatch alone", registration{aaguid: yk, attCert: mismatchCert, attKey: mismatchKey}, "aaguid-mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := vf.Verify(tc.reg.build(t), Expect{RPID: entraRPID, Origin: "https://login.microsoft.com"})
			if err != nil {
				t.Fatal(err)
			}
			if v.Allowed || v.Trusted && tc.want != "aaguid-mismatch" || sortedCodes(v) != tc.want {
				t.Fatalf("reasons %q, want %q: %+v", sortedCodes(v), tc.want, v.Reasons)
			}
			for _, r := range v.Reasons {
				if r.Code == reasonExpired && !strings.Contains(r.Message, testNow.AddDate(0, 0, -3).Format(time.DateOnly)) {
					t.Errorf("expired without the date it expired: %s", r.Message)
				}
			}
		})
	}
}

// berTrue rewrites a DER root's basicConstraints cA TRUE (0xFF) to the BER
// byte 0x01, as some vendor roots in FIDO MDS metadata statements encode it.
func berTrue(t *testing.T, der []byte) []byte {
	t.Helper()
	i := strings.Index(string(der), "\x06\x03\x55\x1d\x13")
	j := strings.Index(string(der[i:]), "\x30\x03\x01\x01\xff")
	if i < 0 || j < 0 {
		t.Fatal("no DER cA TRUE in the test root")
	}
	out := append([]byte(nil), der...)
	out[i+j+4] = 0x01
	if _, err := x509.ParseCertificate(out); err == nil || !strings.Contains(err.Error(), "basic constraints") {
		t.Fatalf("crypto/x509 should refuse the BER root: %v", err)
	}
	return out
}

// A vendor root whose basicConstraints say TRUE as 0x01 is a trust anchor
// like any other, named by its bytes as published; a leaf or intermediate
// so encoded is still refused (x5c is parsed strictly).
func TestBERRootIsATrustAnchor(t *testing.T) {
	ca := newCA(t, "BER Vendor Root")
	ber := berTrue(t, ca.cert.Raw)
	yk, _ := ctap.ParseAAGUID("2fc0579f-8113-47ea-b116-bb5a8db9202a")
	pemBER := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ber}))
	p := Policy{Version: 1, Name: "ber", Roots: []Root{{Name: "BER Vendor Root", PEM: pemBER}}, Allowed: []AllowedModel{{AAGUID: yk.String(), Name: "YubiKey 5 NFC"}}}
	b, _ := json.Marshal(p)
	pol, err := parsePolicy(b, nil)
	if err != nil {
		t.Fatalf("BER root refused: %v", err)
	}
	leaf, key := issue(t, ca, &yk)
	v, err := (&Verifier{Policy: pol, Now: func() time.Time { return testNow }}).Verify(registration{aaguid: yk, attCert: leaf, attKey: key}.build(t), Expect{RPID: entraRPID})
	if err != nil || !v.Allowed {
		t.Fatalf("leaf under a BER root refused: %v %s", err, sortedCodes(v))
	}
	if want := certInfo(&x509.Certificate{Raw: ber}).SHA256; v.Root == nil || v.Root.SHA256 != want {
		t.Fatalf("root recorded as %+v, want the published bytes' SHA-256 %s", v.Root, want)
	}

	// The same encoding in x5c (an intermediate) is malformed input.
	stmt := registration{aaguid: yk, attCert: leaf, attKey: key}.build(t)
	var o attObject
	if err := ctapwire.Unmarshal(stmt.AttestationObject, &o); err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	ctapwire.Unmarshal(o.AttStmt, &st)
	st["x5c"] = []any{leaf.Raw, ber}
	o.AttStmt, _ = ctapwire.Marshal(st)
	v, err = (&Verifier{Policy: pol, Now: func() time.Time { return testNow }}).Verify(o.input(t, stmt.ClientDataJSON), Expect{RPID: entraRPID})
	if err != nil || v.Allowed || !v.HasReason(reasonMalformed) {
		t.Fatalf("BER certificate in x5c: %v %s", err, sortedCodes(v))
	}
}

// A YubiKey with firmware 5.7.4 or later chains to Yubico Attestation Root 1
// through an intermediate ("Yubico FIDO Attestation A 1") that its x5c
// carries. The default policy accepts such a chain only through the
// intermediate: here a test root stands in for Attestation Root 1 in the
// default policy, and the key is a 5.7 YubiKey 5 NFC (a25342c0-…).
func TestDefaultPolicyAccepts57ChainThroughIntermediate(t *testing.T) {
	root := newCA(t, "Yubico Attestation Root 1 (test stand-in)")
	interKey, interCert := func() (testCA, *x509.Certificate) {
		c, k := issueWith(t, root, nil, func(c *x509.Certificate) {
			c.Subject = pkix.Name{CommonName: "Yubico FIDO Attestation A 1 (test)"}
			c.IsCA, c.KeyUsage = true, x509.KeyUsageCertSign
		})
		return testCA{c, k}, c
	}()
	aaguid, _ := ctap.ParseAAGUID("a25342c0-3cdc-4414-8e46-f4807fca511c")
	leaf, key := issue(t, interKey, &aaguid)

	def, err := LoadPolicy("")
	if err != nil {
		t.Fatal(err)
	}
	var p Policy
	if err := json.Unmarshal(def.raw, &p); err != nil {
		t.Fatal(err)
	}
	for i, r := range p.Roots {
		if r.Name == "Yubico Attestation Root 1" {
			p.Roots[i] = Root{Name: r.Name, PEM: root.pem()}
		}
	}
	b, _ := json.Marshal(p)
	pol, err := parsePolicy(b, func(name string) ([]byte, error) { return embedded.ReadFile(name) })
	if err != nil {
		t.Fatal(err)
	}
	vf := &Verifier{Policy: pol, Now: func() time.Time { return testNow }}
	fw := uint64(0x050704)
	in := registration{aaguid: aaguid, attCert: leaf, attKey: key, chain: []*x509.Certificate{interCert}}.build(t)
	in.Firmware = &fw
	v, err := vf.Verify(in, Expect{RPID: entraRPID, Origin: "https://login.microsoft.com"})
	if err != nil || !v.Allowed || len(v.Chain) != 3 || !strings.Contains(v.Root.Subject, "stand-in") {
		t.Fatalf("5.7 chain through its intermediate: %v %s", err, sortedCodes(v))
	}
	// Without the intermediate in x5c, nothing links the leaf to the root.
	alone := registration{aaguid: aaguid, attCert: leaf, attKey: key}.build(t)
	alone.Firmware = &fw
	if v, _ := vf.Verify(alone, Expect{RPID: entraRPID}); v.Allowed || !v.HasReason(reasonChain) {
		t.Fatalf("leaf without intermediate: %s", sortedCodes(v))
	}
	// A 5.7 AAGUID claiming older firmware is refused by the model's minimum.
	old := uint64(0x050404)
	in.Firmware = &old
	if v, _ := vf.Verify(in, Expect{RPID: entraRPID}); v.Allowed || !v.HasReason(reasonFirmware) {
		t.Fatalf("5.7 model on firmware 5.4.4: %s", sortedCodes(v))
	}
}

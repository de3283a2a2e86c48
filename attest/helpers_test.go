package attest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// testNow is the fixed verification time of the tests.
var testNow = time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t testing.TB, cn string) testCA {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn, Organization: []string{"test"}},
		NotBefore: testNow.Add(-24 * time.Hour), NotAfter: testNow.Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return testCA{c, k}
}

func (ca testCA) pem() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}))
}

// issue makes an attestation certificate; aaguid nil leaves the extension out.
// A zero-value issuer makes it self-signed.
func issue(t testing.TB, issuer testCA, aaguid *ctap.AAGUID) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	return issueWith(t, issuer, aaguid, nil)
}

// issueWith is issue with a change to the certificate template.
func issueWith(t testing.TB, issuer testCA, aaguid *ctap.AAGUID, change func(*x509.Certificate)) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject: pkix.Name{Country: []string{"SE"}, Organization: []string{"Forged"}, OrganizationalUnit: []string{"Authenticator Attestation"},
			CommonName: "Forged attestation"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.AddDate(20, 0, 0), BasicConstraintsValid: true,
	}
	if aaguid != nil {
		v, _ := asn1.Marshal(aaguid[:])
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}, Value: v}}
	}
	if change != nil {
		change(tmpl)
	}
	parent, signer := tmpl, k
	if issuer.cert != nil {
		parent, signer = issuer.cert, issuer.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &k.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, k
}

// registration is a forged packed registration, with knobs for forgery.
type registration struct {
	rpID       string
	aaguid     ctap.AAGUID
	attCert    *x509.Certificate
	attKey     *ecdsa.PrivateKey
	clientData []byte
	format     string // default packed
	flipSig    bool
	signOver   []byte              // sign this clientDataHash instead of the real one
	self       bool                // packed self attestation: signed by the credential key, no x5c
	chain      []*x509.Certificate // intermediates sent in x5c after attCert
}

func (r registration) build(t testing.TB) Input {
	t.Helper()
	if r.rpID == "" {
		r.rpID = "login.microsoft.com"
	}
	if r.clientData == nil {
		r.clientData = []byte(`{"type":"webauthn.create","challenge":"Y2hhbGxlbmdl","origin":"https://login.microsoft.com"}`)
	}
	cred, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cose, _ := ctapwire.Marshal(ctapwire.COSEKeyFromECDSA(&cred.PublicKey))
	credID := make([]byte, 32)
	rand.Read(credID)
	rpHash := sha256.Sum256([]byte(r.rpID))
	ad := append([]byte{}, rpHash[:]...)
	ad = append(ad, ctapwire.FlagUP|ctapwire.FlagUV|ctapwire.FlagAT)
	ad = binary.BigEndian.AppendUint32(ad, 1)
	ad = append(ad, r.aaguid[:]...)
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(credID)))
	ad = append(append(ad, credID...), cose...)
	cdh := sha256.Sum256(r.clientData)
	signed := cdh[:]
	if r.signOver != nil {
		signed = r.signOver
	}
	format := r.format
	if format == "" {
		format = "packed"
	}
	var stmt []byte
	if format == "none" {
		stmt, _ = ctapwire.Marshal(map[string]any{})
	} else {
		digest := sha256.Sum256(append(append([]byte{}, ad...), signed...))
		if format == "fido-u2f" { // FIDO U2F raw message formats §4.3
			msg := append([]byte{0x00}, rpHash[:]...)
			msg = append(append(append(msg, signed...), credID...), 0x04)
			msg = append(append(msg, cred.PublicKey.X.FillBytes(make([]byte, 32))...), cred.PublicKey.Y.FillBytes(make([]byte, 32))...)
			digest = sha256.Sum256(msg)
		}
		var sig []byte
		if !r.self {
			sig, _ = ecdsa.SignASN1(rand.Reader, r.attKey, digest[:])
		}
		if r.flipSig && sig != nil {
			sig[len(sig)-3] ^= 0x01
		}
		if r.self {
			sig, _ = ecdsa.SignASN1(rand.Reader, cred, digest[:])
			stmt, _ = ctapwire.Marshal(struct {
				Alg int    `cbor:"alg"`
				Sig []byte `cbor:"sig"`
			}{-7, sig})
		} else if format == "fido-u2f" {
			stmt, _ = ctapwire.Marshal(struct {
				Sig []byte   `cbor:"sig"`
				X5C [][]byte `cbor:"x5c"`
			}{sig, [][]byte{r.attCert.Raw}})
		} else {
			x5c := [][]byte{r.attCert.Raw}
			for _, c := range r.chain {
				x5c = append(x5c, c.Raw)
			}
			stmt, _ = ctapwire.Marshal(struct {
				Alg int      `cbor:"alg"`
				Sig []byte   `cbor:"sig"`
				X5C [][]byte `cbor:"x5c"`
			}{-7, sig, x5c})
		}
	}
	in, err := InputFromMakeCredential(&ctap.MakeCredentialResult{Format: format, AuthData: ad, AttStmt: stmt}, r.clientData, nil)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// policyJSON builds a test policy trusting roots, allowing aaguids.
func testPolicy(t testing.TB, roots []testCA, mds *mdsPolicy, extra func(*Policy), allowed ...AllowedModel) *Policy {
	t.Helper()
	p := Policy{Version: 1, Name: "test policy", Allowed: allowed, MDS: mds}
	for _, r := range roots {
		p.Roots = append(p.Roots, Root{Name: r.cert.Subject.CommonName, PEM: r.pem()})
	}
	if extra != nil {
		extra(&p)
	}
	b, _ := json.Marshal(p)
	pol, err := parsePolicy(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

// mdsEntry is one entry of a generated MDS blob.
type mdsEntry struct {
	aaguid   string
	root     *x509.Certificate
	statuses []string
	changed  time.Time
}

// mdsBlob signs a generated MDS3 payload with a signer chained to mdsRoot.
func mdsBlob(t testing.TB, mdsRoot testCA, serial int, nextUpdate time.Time, entries []mdsEntry) []byte {
	t.Helper()
	signerCert, signerKey := issue(t, mdsRoot, nil)
	var es []map[string]any
	for _, e := range entries {
		var reports []map[string]any
		for _, s := range e.statuses {
			reports = append(reports, map[string]any{"status": s, "effectiveDate": e.changed.Format(time.DateOnly)})
		}
		es = append(es, map[string]any{
			"aaguid": e.aaguid,
			"metadataStatement": map[string]any{
				"aaguid": e.aaguid, "description": "Test authenticator " + e.aaguid[:8], "schema": 3, "protocolFamily": "fido2",
				"attestationRootCertificates": []string{base64.StdEncoding.EncodeToString(e.root.Raw)},
			},
			"statusReports":          reports,
			"timeOfLastStatusChange": e.changed.Format(time.DateOnly),
		})
	}
	claims := jwt.MapClaims{"legalHeader": "test", "no": serial, "nextUpdate": nextUpdate.Format(time.DateOnly), "entries": es}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["x5c"] = []string{base64.StdEncoding.EncodeToString(signerCert.Raw)}
	s, err := tok.SignedString(signerKey)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(s)
}

func reasonCodes(v *Verdict) string {
	var codes []string
	for _, r := range v.Reasons {
		codes = append(codes, r.Code)
	}
	return strings.Join(codes, ",")
}

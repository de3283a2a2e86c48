package attest

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
)

// A real FIDO MDS3 blob (no. 9, next update 2021-12-01, 1,061,337 bytes),
// kept in webauthn4j's test data (github.com/webauthn4j/webauthn4j at
// 19b5ed3f655ac91b05e87f6c71bab88cf2cb46c6,
// webauthn4j-metadata/src/test/resources/integration/component/blob.jwt),
// signed under GlobalSign Root CA - R3 (root-r3.crt beside it; SHA-256
// cbb522d7b7f127ad6a0113865bdf1cd4102e7d0759af635a7cf4720dc963c53b).
func realMDS(t testing.TB) ([]byte, *x509.Certificate) {
	t.Helper()
	blob, err := os.ReadFile("testdata/mds/webauthn4j-blob-no9.jwt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile("testdata/mds/globalsign-root-r3.pem")
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("root-r3 is not PEM")
	}
	root, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return blob, root
}

// At a time it was valid, the real blob verifies and is indexed: its FIDO2
// entries by AAGUID, with the YubiKey 5 NFC's certification.
func TestRealMDSBlobParsesWhenCurrent(t *testing.T) {
	blob, root := realMDS(t)
	when := time.Date(2021, 11, 15, 12, 0, 0, 0, time.UTC)
	m, err := parseMDS(blob, root, when)
	if err != nil {
		t.Fatal(err)
	}
	// 98 entries, 46 of them FIDO2 (with an AAGUID); what go-webauthn's
	// types cannot hold is counted, not fatal.
	if m.Serial != 9 || m.NextUpdate.Format(time.DateOnly) != "2021-12-01" || m.entryCount() != 43 || len(m.unreadable) != 3 || m.Unreadable != 5 {
		t.Fatalf("blob no. %d, next update %s, %d readable + %d unreadable AAGUID entries (%d unreadable in all); want 9, 2021-12-01, 46",
			m.Serial, m.NextUpdate.Format(time.DateOnly), m.entryCount(), len(m.unreadable), m.Unreadable)
	}
	t.Logf("real MDS blob: %d bytes, %d AAGUID entries readable, %d entries unreadable: %v", len(blob), m.entryCount(), m.Unreadable, m.unreadable)
	e, ok := m.entry("2fc0579f-8113-47ea-b116-bb5a8db9202a")
	if !ok || e.MetadataStatement.Description != "YubiKey 5 Series with NFC" || len(e.StatusReports) != 1 || e.StatusReports[0].Status != "FIDO_CERTIFIED_L1" {
		t.Fatalf("YubiKey 5 NFC entry: %v %+v", ok, e)
	}
	// Another root (go-webauthn's pinned production root) does not verify it.
	if _, err := parseMDS(blob, nil, when); err == nil {
		t.Fatal("blob verified against a root that did not sign it")
	}
}

// Today the same blob is refused, and the reason says it is out of date.
func TestRealMDSBlobRefusedWhenExpired(t *testing.T) {
	blob, root := realMDS(t)
	_, err := parseMDS(blob, root, testNow)
	if err == nil || !strings.Contains(err.Error(), "out of date") || !strings.Contains(err.Error(), "2022-05-14") {
		t.Fatalf("expired real blob: %v", err)
	}
}

// BenchmarkParseRealMDS parses and indexes the real 1 MB blob.
func BenchmarkParseRealMDS(b *testing.B) {
	blob, root := realMDS(b)
	when := time.Date(2021, 11, 15, 12, 0, 0, 0, time.UTC)
	b.SetBytes(int64(len(blob)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseMDS(blob, root, when); err != nil {
			b.Fatal(err)
		}
	}
}

// A key whose own entry in the real blob cannot be read (Hideez Key: its
// authenticatorGetInfo AAGUID is malformed in blob no. 9) is refused: its
// status cannot be checked. Other keys' entries still serve.
func TestUnreadableMDSEntryRefusesItsKey(t *testing.T) {
	blob, root := realMDS(t)
	when := time.Date(2021, 11, 15, 12, 0, 0, 0, time.UTC)
	m, err := parseMDS(blob, root, when)
	if err != nil {
		t.Fatal(err)
	}
	hideez, _ := ctap.ParseAAGUID("4e768f2c-5fab-48b3-b300-220eb487752b")
	yk, _ := ctap.ParseAAGUID("2fc0579f-8113-47ea-b116-bb5a8db9202a")
	rootCert, rootKey := issueWith(t, testCA{}, nil, func(c *x509.Certificate) {
		c.Subject.CommonName, c.IsCA, c.KeyUsage, c.NotBefore = "Trusted Test Root", true, x509.KeyUsageCertSign, when.AddDate(-1, 0, 0)
	})
	trusted := testCA{rootCert, rootKey}
	pol := testPolicy(t, []testCA{trusted}, &mdsPolicy{Blob: "unused", MaxAgeDays: 45}, nil,
		AllowedModel{AAGUID: hideez.String(), Name: "Hideez"}, AllowedModel{AAGUID: yk.String(), Name: "YubiKey 5 NFC"})
	vf := &Verifier{Policy: pol, MDS: m, Now: func() time.Time { return when }}
	for _, tc := range []struct {
		aaguid ctap.AAGUID
		bad    bool
	}{{hideez, true}, {yk, false}} {
		cert, key := issueWith(t, trusted, &tc.aaguid, func(c *x509.Certificate) { c.NotBefore = when.Add(-time.Hour) })
		v, err := vf.Verify(registration{aaguid: tc.aaguid, attCert: cert, attKey: key}.build(t), Expect{RPID: entraRPID})
		if err != nil {
			t.Fatal(err)
		}
		if got := v.HasReason(reasonMDSMissing) && strings.Contains(reasonMessages(v), "cannot be read"); got != tc.bad || v.Allowed == tc.bad {
			t.Fatalf("%s: reasons %s %+v", tc.aaguid, sortedCodes(v), v.Reasons)
		}
		if !tc.bad && (v.MDS == nil || v.MDS.Certification != "FIDO_CERTIFIED_L1") {
			t.Fatalf("YubiKey 5 NFC in the real blob: %+v", v.MDS)
		}
	}
}

// FuzzMDSBlob: whatever bytes the MDS3 blob file holds (it comes from the
// network, then a USB stick), parsing never panics, and nothing but the
// genuine blob verifies: a blob that parses names the genuine serial and
// the same number of entries, whatever its spacing.
func FuzzMDSBlob(f *testing.F) {
	blob, root := realMDS(f)
	when := time.Date(2021, 11, 15, 12, 0, 0, 0, time.UTC)
	genuine, err := parseMDS(blob, root, when)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(blob)
	f.Add(blob[:len(blob)/2])
	f.Add([]byte("eyJhbGciOiJub25lIn0.e30."))
	parts := strings.SplitN(string(blob), ".", 3)
	f.Add([]byte(parts[0] + "." + parts[1] + ".AAAA"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMDS(b, root, when)
		if err != nil {
			return
		}
		if m.Serial != genuine.Serial || len(m.entries) != len(genuine.entries) || m.SHA256 == "" {
			t.Fatalf("a blob that is not the genuine one verified: serial %d, %d entries", m.Serial, len(m.entries))
		}
	})
}

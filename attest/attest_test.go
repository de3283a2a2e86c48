package attest

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/internal/sim/testca"
	"github.com/keyceremony/keyceremony/internal/testenv"
)

const yubicoRootSHA256 = "0fa1386f80eb8713263ae5c1d84deb455bdf08aea50ab05503cefee82b092d42"

type vectorFile struct {
	About struct {
		Device, Format, RPID, Origin, AAGUID string
	} `json:"about"`
	Registration json.RawMessage `json:"registration"`
}

func loadVector(t *testing.T, name string) vectorFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.VectorsDir(t, 1), "registrations", name))
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func defaultVerifier(t *testing.T) *Verifier {
	t.Helper()
	p, err := LoadPolicy("")
	if err != nil {
		t.Fatal(err)
	}
	return &Verifier{Policy: p, Now: func() time.Time { return testNow }}
}

func TestRealYubiKeyRegistrationsVerify(t *testing.T) {
	for _, name := range []string{"yubikey-5-packed.json", "yubikey-5-nfc-packed.json"} {
		t.Run(name, func(t *testing.T) {
			v := loadVector(t, name)
			in, err := InputFromRegistrationJSON(v.Registration, "")
			if err != nil {
				t.Fatal(err)
			}
			verdict, err := defaultVerifier(t).Verify(in, Expect{RPID: v.About.RPID, Origin: v.About.Origin})
			if err != nil {
				t.Fatal(err)
			}
			if !verdict.Trusted || !verdict.Allowed {
				t.Fatalf("refused: %+v", verdict.Reasons)
			}
			if verdict.AAGUID != v.About.AAGUID || verdict.CertAAGUID != v.About.AAGUID || verdict.Format != "packed" || verdict.AttestationType != "basic_full" {
				t.Fatalf("%+v", verdict)
			}
			if verdict.Root == nil || verdict.Root.SHA256 != yubicoRootSHA256 || !strings.Contains(verdict.Root.Subject, "Yubico U2F Root CA Serial 457200631") {
				t.Fatalf("root %+v", verdict.Root)
			}
			if len(verdict.Chain) != 2 || verdict.Model == "" {
				t.Fatalf("chain %+v model %q", verdict.Chain, verdict.Model)
			}
		})
	}
}

func TestRealU2FRegistrationIsGenuineButNotAllowed(t *testing.T) {
	v := loadVector(t, "yubikey-neo-fido-u2f.json")
	in, err := InputFromRegistrationJSON(v.Registration, "")
	if err != nil {
		t.Fatal(err)
	}
	verdict, err := defaultVerifier(t).Verify(in, Expect{RPID: v.About.RPID, Origin: v.About.Origin})
	if err != nil {
		t.Fatal(err)
	}
	if !verdict.Trusted || verdict.Root == nil || verdict.Root.SHA256 != yubicoRootSHA256 {
		t.Fatalf("genuine NEO not trusted: %+v", verdict)
	}
	if verdict.Allowed || reasonCodes(verdict) != reasonAAGUIDNotAllowed {
		t.Fatalf("a U2F key must not be allowed for a break-glass account: %s", reasonCodes(verdict))
	}
}

// Every byte of a real attestationObject matters: flipping any one of them
// is refused or fails to parse, never accepted.
func TestRealRegistrationTamperedIsRefused(t *testing.T) {
	v := loadVector(t, "yubikey-5-packed.json")
	var reg registrationJSON
	json.Unmarshal(v.Registration, &reg)
	ao, _ := decodeB64URL(reg.Response.AttestationObject)
	cd, _ := decodeB64URL(reg.Response.ClientDataJSON)
	vf := defaultVerifier(t)
	for i := 0; i < len(ao); i += 7 {
		bad := append([]byte(nil), ao...)
		bad[i] ^= 0x01
		verdict, err := vf.Verify(Input{AttestationObject: bad, ClientDataJSON: cd}, Expect{RPID: v.About.RPID, Origin: v.About.Origin})
		if err == nil && verdict.Allowed {
			t.Fatalf("attestationObject with byte %d flipped was allowed", i)
		}
	}
	badCD := []byte(strings.Replace(string(cd), "example.com", "examp1e.com", 1))
	verdict, err := vf.Verify(Input{AttestationObject: ao, ClientDataJSON: badCD}, Expect{RPID: v.About.RPID, Origin: v.About.Origin})
	if err != nil || verdict.Allowed || !verdict.HasReason(reasonClientData) || !verdict.HasReason(reasonSignature) {
		t.Fatalf("altered clientDataJSON: %v %s", err, reasonCodes(verdict))
	}
}

// The forged corpus: every forgery refused, each for the right reason.
func TestForgedCorpusIsRefused(t *testing.T) {
	trusted := newCA(t, "Trusted Test Root")
	untrusted := newCA(t, "Untrusted Root")
	mdsRoot := newCA(t, "Test MDS Root")
	yk, _ := ctap.ParseAAGUID("2fc0579f-8113-47ea-b116-bb5a8db9202a")
	other, _ := ctap.ParseAAGUID("ee882879-721c-4913-9775-3dfcce97072a")
	allowed := []AllowedModel{{AAGUID: yk.String(), Name: "YubiKey 5 NFC"}, {AAGUID: other.String(), Name: "YubiKey 5"}}
	pol := testPolicy(t, []testCA{trusted}, nil, nil, allowed...)
	vf := &Verifier{Policy: pol, Now: func() time.Time { return testNow }}
	goodCert, goodKey := issue(t, trusted, &yk)

	// Control: the honest registration is allowed, so refusals below mean something.
	v, err := vf.Verify(registration{aaguid: yk, attCert: goodCert, attKey: goodKey}.build(t), Expect{RPID: "login.microsoft.com", Origin: "https://login.microsoft.com"})
	if err != nil || !v.Allowed {
		t.Fatalf("honest registration refused: %v %+v", err, v.Reasons)
	}

	selfCert, selfKey := issue(t, testCA{}, &yk)
	untrustedCert, untrustedKey := issue(t, untrusted, &yk)
	mismatchCert, mismatchKey := issue(t, trusted, &other)
	simKey, _ := simkey.New(simkey.Config{TouchDelay: time.Nanosecond})

	// The MDS cases use a policy with a blob.
	mdsPol := testPolicy(t, []testCA{trusted}, &mdsPolicy{Blob: "unused", MaxAgeDays: 45}, nil, allowed...)
	revoked, err := parseMDS(mdsBlob(t, mdsRoot, 7, testNow.AddDate(0, 1, 0), []mdsEntry{
		{aaguid: yk.String(), root: trusted.cert, statuses: []string{"FIDO_CERTIFIED_L1", "REVOKED"}, changed: testNow.AddDate(0, 0, -3)},
	}), mdsRoot.cert, testNow)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := parseMDS(mdsBlob(t, mdsRoot, 3, testNow.AddDate(0, -3, 0), []mdsEntry{
		{aaguid: yk.String(), root: trusted.cert, statuses: []string{"FIDO_CERTIFIED_L1"}, changed: testNow.AddDate(0, -4, 0)},
	}), mdsRoot.cert, testNow)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		vf     *Verifier
		in     func() Input
		reason string
	}{
		{"self-signed leaf with a real AAGUID", vf, func() Input {
			return registration{aaguid: yk, attCert: selfCert, attKey: selfKey}.build(t)
		}, reasonChain},
		{"chain to an untrusted root", vf, func() Input {
			return registration{aaguid: yk, attCert: untrustedCert, attKey: untrustedKey}.build(t)
		}, reasonChain},
		{"AAGUID mismatch between authData and certificate", vf, func() Input {
			return registration{aaguid: yk, attCert: mismatchCert, attKey: mismatchKey}.build(t)
		}, reasonAAGUIDMismatch},
		{"flipped signature byte", vf, func() Input {
			return registration{aaguid: yk, attCert: goodCert, attKey: goodKey, flipSig: true}.build(t)
		}, reasonSignature},
		{"wrong clientDataHash", vf, func() Input {
			h := sha256.Sum256([]byte("another client data"))
			return registration{aaguid: yk, attCert: goodCert, attKey: goodKey, signOver: h[:]}.build(t)
		}, reasonSignature},
		{"revoked entry in a test MDS blob", &Verifier{Policy: mdsPol, MDS: revoked, Now: vf.Now}, func() Input {
			return registration{aaguid: yk, attCert: goodCert, attKey: goodKey}.build(t)
		}, reasonMDSStatus},
		{"stale MDS blob", &Verifier{Policy: mdsPol, MDS: stale, Now: vf.Now}, func() Input {
			return registration{aaguid: yk, attCert: goodCert, attKey: goodKey}.build(t)
		}, reasonMDSStale},
		{"simkey root without --rehearsal", defaultVerifier(t), func() Input {
			return simkeyRegistration(t, simKey)
		}, reasonSimkeyRoot},
		{"none attestation under the default policy", defaultVerifier(t), func() Input {
			return registration{aaguid: yk, format: "none"}.build(t)
		}, reasonFormatNone},
		{"packed self attestation", vf, func() Input {
			return registration{aaguid: yk, self: true}.build(t)
		}, reasonSelfAttestation},
		{"another relying party", vf, func() Input {
			return registration{rpID: "evil.example", aaguid: yk, attCert: goodCert, attKey: goodKey}.build(t)
		}, reasonRPID},
		{"wrong origin", vf, func() Input {
			return registration{aaguid: yk, attCert: goodCert, attKey: goodKey,
				clientData: []byte(`{"type":"webauthn.create","challenge":"Y2hhbGxlbmdl","origin":"https://login.micros0ft.com"}`)}.build(t)
		}, reasonClientData},
		{"model not on the allowlist", &Verifier{Policy: testPolicy(t, []testCA{trusted}, nil, nil, AllowedModel{AAGUID: other.String(), Name: "other"}), Now: vf.Now}, func() Input {
			return registration{aaguid: yk, attCert: goodCert, attKey: goodKey}.build(t)
		}, reasonAAGUIDNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.vf.Verify(tc.in(), Expect{RPID: "login.microsoft.com", Origin: "https://login.microsoft.com"})
			if err != nil {
				t.Fatalf("error instead of a verdict: %v", err)
			}
			if v.Allowed {
				t.Fatalf("forgery allowed: %+v", v)
			}
			if !v.HasReason(tc.reason) {
				t.Fatalf("refused for %q, want %q", reasonCodes(v), tc.reason)
			}
			for _, r := range v.Reasons {
				if r.Message == "" {
					t.Errorf("reason %s has no message", r.Code)
				}
			}
		})
	}
}

// simkeyRegistration makes a real simkey credential for login.microsoft.com.
func simkeyRegistration(t *testing.T, key *simkey.Key) Input {
	t.Helper()
	c := ctap.NewClient(key, ctap.Options{})
	cd := []byte(`{"type":"webauthn.create","challenge":"Y2hhbGxlbmdl","origin":"https://login.microsoft.com"}`)
	h := sha256.Sum256(cd)
	res, err := c.MakeCredential(context.Background(), ctap.MakeCredentialOptions{ClientDataHash: h[:],
		RP: ctap.RelyingParty{ID: "login.microsoft.com"}, User: ctap.User{ID: []byte("u")}, ResidentKey: true})
	if err != nil {
		t.Fatal(err)
	}
	fw := uint64(0x050704)
	in, err := InputFromMakeCredential(res, cd, &fw)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestSimkeyAllowedOnlyInRehearsal(t *testing.T) {
	key, _ := simkey.New(simkey.Config{TouchDelay: time.Nanosecond})
	in := simkeyRegistration(t, key)
	vf := defaultVerifier(t)
	vf.Rehearsal = true
	root, _ := testca.Root()
	vf.RehearsalRoots = []*x509.Certificate{root}
	vf.RehearsalModel = &AllowedModel{AAGUID: testca.AAGUIDString(), Name: testca.ModelName}
	v, err := vf.Verify(in, Expect{RPID: "login.microsoft.com", Origin: "https://login.microsoft.com"})
	if err != nil || !v.Allowed || !v.Rehearsal || !strings.Contains(v.Root.Subject, "TEST") || v.Firmware != "5.7.4" {
		t.Fatalf("%v %+v", err, v)
	}
	// Adding the simkey root to a real policy does not make it trusted.
	pol := testPolicy(t, []testCA{{cert: root}}, nil, nil, AllowedModel{AAGUID: simkey.DefaultAAGUID().String(), Name: "sim"})
	v, _ = (&Verifier{Policy: pol, Now: vf.Now}).Verify(in, Expect{RPID: "login.microsoft.com"})
	if v.Allowed || !v.HasReason(reasonSimkeyRoot) {
		t.Fatalf("simkey root smuggled in through a policy: %s", reasonCodes(v))
	}
}

func TestFirmwareAndCertificationPolicy(t *testing.T) {
	trusted := newCA(t, "Trusted Test Root")
	mdsRoot := newCA(t, "Test MDS Root")
	yk, _ := ctap.ParseAAGUID("2fc0579f-8113-47ea-b116-bb5a8db9202a")
	cert, key := issue(t, trusted, &yk)
	mds, err := parseMDS(mdsBlob(t, mdsRoot, 9, testNow.AddDate(0, 1, 0), []mdsEntry{
		{aaguid: yk.String(), root: trusted.cert, statuses: []string{"FIDO_CERTIFIED_L1"}, changed: testNow.AddDate(0, 0, -1)},
	}), mdsRoot.cert, testNow)
	if err != nil {
		t.Fatal(err)
	}
	pol := testPolicy(t, []testCA{trusted}, &mdsPolicy{Blob: "x", MaxAgeDays: 30}, func(p *Policy) { p.MinCertification = "FIDO_CERTIFIED_L2" },
		AllowedModel{AAGUID: yk.String(), Name: "YubiKey 5 NFC", MinFirmware: "5.4.3"})
	vf := &Verifier{Policy: pol, MDS: mds, Now: func() time.Time { return testNow }}
	in := registration{aaguid: yk, attCert: cert, attKey: key}.build(t)
	old := uint64(0x050202)
	in.Firmware = &old
	v, _ := vf.Verify(in, Expect{RPID: "login.microsoft.com"})
	if !v.HasReason(reasonFirmware) || !v.HasReason(reasonCertification) || v.MDS.Certification != "FIDO_CERTIFIED_L1" || v.Allowed {
		t.Fatalf("%s %+v", reasonCodes(v), v.MDS)
	}
	in.Firmware = nil
	v, _ = vf.Verify(in, Expect{RPID: "login.microsoft.com"})
	if !v.HasReason(reasonFirmwareUnknown) {
		t.Fatalf("unknown firmware: %s", reasonCodes(v))
	}
	good := uint64(0x050403)
	in.Firmware = &good
	pol.MinCertification = "FIDO_CERTIFIED_L1"
	v, _ = vf.Verify(in, Expect{RPID: "login.microsoft.com"})
	if !v.Allowed || v.MDS.Serial != 9 || v.MDS.BlobSHA256 == "" {
		t.Fatalf("%s %+v", reasonCodes(v), v)
	}
}

func TestMDSBlobSignatureAndChain(t *testing.T) {
	mdsRoot := newCA(t, "Test MDS Root")
	other := newCA(t, "Other Root")
	trusted := newCA(t, "Trusted")
	blob := mdsBlob(t, mdsRoot, 1, testNow, []mdsEntry{{aaguid: "2fc0579f-8113-47ea-b116-bb5a8db9202a", root: trusted.cert, statuses: []string{"FIDO_CERTIFIED_L1"}, changed: testNow}})
	m, err := parseMDS(blob, mdsRoot.cert, testNow)
	if err != nil || m.entryCount() != 1 || m.Serial != 1 {
		t.Fatalf("%v %+v", err, m)
	}
	if _, err := parseMDS(blob, other.cert, testNow); err == nil {
		t.Fatal("blob accepted under another root")
	}
	if _, err := parseMDS(blob, nil, testNow); err == nil {
		t.Fatal("test blob accepted under the pinned FIDO root")
	}
	parts := strings.Split(string(blob), ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(payload), "FIDO_CERTIFIED_L1", "FIDO_CERTIFIED_L3", 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
	if _, err := parseMDS([]byte(tampered), mdsRoot.cert, testNow); err == nil {
		t.Fatal("tampered blob payload accepted")
	}
	if _, err := parseMDS([]byte("not a jwt"), mdsRoot.cert, testNow); err == nil {
		t.Fatal("garbage accepted")
	}
	pinned, err := pinnedMDSRoot()
	if err != nil || !pinned.IsCA {
		t.Fatalf("pinned root: %v", err)
	}
	sum := sha256.Sum256(pinned.Raw)
	t.Logf("pinned MDS root %s sha256 %s", pinned.Subject, hex.EncodeToString(sum[:]))
}

func TestPolicyFiles(t *testing.T) {
	p, err := LoadPolicy("")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Allowed) < 10 || !p.requiresAttestation() || len(p.SHA256()) != 64 {
		t.Fatalf("default policy: %d models, attestation required %v", len(p.Allowed), p.requiresAttestation())
	}
	// The embedded roots are exactly Yubico's three, by the fingerprints
	// ../shared/vectors/README.md records (each checked there against two
	// independent published copies of Yubico's CA bundle).
	want := map[string]string{
		"0fa1386f80eb8713263ae5c1d84deb455bdf08aea50ab05503cefee82b092d42": "Yubico U2F Root CA Serial 457200631",
		"35f1a54b353bfb711e6d42adbeb76c0e9dead095018e6a94783ba2192fd6faad": "Yubico FIDO Root CA Serial 450203556",
		"62760c6a6ef91679f454c8902b80fd009825b3f25da90f1fbace2ec6586cd5a8": "Yubico Attestation Root 1",
	}
	roots := p.rootInfo()
	if len(roots) != len(want) {
		t.Fatalf("%d embedded roots, want %d", len(roots), len(want))
	}
	for _, r := range roots {
		if name, ok := want[r.SHA256]; !ok || !strings.Contains(r.Subject, name) {
			t.Errorf("unexpected embedded root %s %s", r.Subject, r.SHA256)
		}
	}
	dir := t.TempDir()
	write := func(name, s string) string {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(s), 0o644)
		return path
	}
	rootPEM, _ := os.ReadFile("roots/yubico-u2f-root-ca-serial-457200631.pem")
	write("root.pem", string(rootPEM))
	good := `{"version":1,"name":"t","roots":[{"name":"y","pem_file":"root.pem"}],"allowed":[{"aaguid":"2fc0579f-8113-47ea-b116-bb5a8db9202a","name":"YK","min_firmware":"5.4.3"}]}`
	if _, err := LoadPolicy(write("good.json", good)); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"unknown key":       strings.Replace(good, `"name":"t"`, `"name":"t","allow_everything":true`, 1),
		"bad aaguid":        strings.Replace(good, "2fc0579f-8113", "2fc0579f-81", 1),
		"zero aaguid":       strings.Replace(good, "2fc0579f-8113-47ea-b116-bb5a8db9202a", "00000000-0000-0000-0000-000000000000", 1),
		"no roots, no mds":  `{"version":1,"name":"t","allowed":[{"aaguid":"2fc0579f-8113-47ea-b116-bb5a8db9202a","name":"YK"}]}`,
		"bad firmware":      strings.Replace(good, "5.4.3", "five", 1),
		"wrong version":     strings.Replace(good, `"version":1`, `"version":2`, 1),
		"missing root":      strings.Replace(good, "root.pem", "nope.pem", 1),
		"cert level no mds": strings.Replace(good, `"name":"t"`, `"name":"t","min_certification":"FIDO_CERTIFIED_L1"`, 1),
		"trailing":          good + "{}",
		// A Token2 key (AAGUID ab32f0c6-..., webauthn-rs get_info.rs token2_nfc)
		// sends firmwareVersion 256, an encoding Token2 does not document: a
		// minimum for it cannot be compared, so the policy is refused.
		"min_firmware, encoding unknown": strings.Replace(good, "2fc0579f-8113-47ea-b116-bb5a8db9202a",
			"ab32f0c6-2239-afbb-c470-d2ef4e254db7", 1),
		// pico-fido's firmwareVersion is 0xMMmm (its version.h): a minimum is
		// major.minor, and a Yubico-style major.minor.patch is refused.
		"min_firmware, not pico-fido's form": strings.Replace(good, "2fc0579f-8113-47ea-b116-bb5a8db9202a",
			"89fb94b7-06c9-3673-9b7e-30526d968145", 1),
	} {
		if _, err := LoadPolicy(write("bad.json", body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	yk, _ := ctap.ParseAAGUID("2fc0579f-8113-47ea-b116-bb5a8db9202a")
	if v, err := ctap.ParseFirmware(yk, "5.7.4"); err != nil || v != 0x050704 {
		t.Fatal(v, err)
	} else if text, known := ctap.FormatFirmware(yk, v, ""); text != "5.7.4" || !known {
		t.Fatal(text, known)
	}
	picoMin := strings.Replace(strings.Replace(good, "2fc0579f-8113-47ea-b116-bb5a8db9202a",
		"89fb94b7-06c9-3673-9b7e-30526d968145", 1), "5.4.3", "8.0", 1)
	if p, err := LoadPolicy(write("pico.json", picoMin)); err != nil {
		t.Fatalf("pico-fido minimum 8.0: %v", err)
	} else {
		// A pico-fido 8.0 (getInfo 0x0800) meets it; a 7.6 is refused, both
		// named in pico-fido's form.
		pico, _ := ctap.ParseAAGUID("89fb94b7-06c9-3673-9b7e-30526d968145")
		vf := &Verifier{Policy: p}
		if err := vf.Precheck(pico, u64p(0x0800), ""); err != nil {
			t.Errorf("pico-fido 8.0 against minimum 8.0: %v", err)
		}
		if err := vf.Precheck(pico, u64p(0x0706), ""); err == nil ||
			!strings.Contains(err.Error(), "firmware 7.6 is older than the policy's minimum 8.0") {
			t.Errorf("pico-fido 7.6 against minimum 8.0: %v", err)
		}
		// Its CTAPHID_INIT device version (8.0.0 for 8.0) is read in the same
		// form before anything is done to the key: 7.6.0 is refused there,
		// not only by the attestation after the reset (0x070600 > 0x0800).
		const init = "CTAPHID_INIT device version"
		if err := vf.Precheck(pico, u64p(0x080000), init); err != nil {
			t.Errorf("pico-fido INIT 8.0.0 against minimum 8.0: %v", err)
		}
		if err := vf.Precheck(pico, u64p(0x070600), init); err == nil ||
			!strings.Contains(err.Error(), "firmware 7.6 is older than the policy's minimum 8.0") {
			t.Errorf("pico-fido INIT 7.6.0 against minimum 8.0: %v", err)
		}
	}
	// The same policy without the minimum is accepted for that model.
	noMin := strings.Replace(strings.Replace(good, "2fc0579f-8113-47ea-b116-bb5a8db9202a",
		"ab32f0c6-2239-afbb-c470-d2ef4e254db7", 1),
		`,"min_firmware":"5.4.3"`, "", 1)
	if _, err := LoadPolicy(write("nomin.json", noMin)); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(good, "2fc0579f-8113-47ea-b116-bb5a8db9202a", "ab32f0c6-2239-afbb-c470-d2ef4e254db7", 1)
	if _, err := LoadPolicy(write("bad.json", bad)); err == nil || !strings.Contains(err.Error(), "vendor-defined") {
		t.Fatalf("a minimum for a model of unknown firmware encoding: %v", err)
	}
}

// FuzzRegistrationJSON: the registration-JSON and attestationObject parsing
// path returns errors or verdicts, never panics.
func FuzzRegistrationJSON(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "..", "shared", "vectors", "registrations", "yubikey-5-packed.json")); err == nil {
		var v vectorFile
		if json.Unmarshal(b, &v) == nil {
			f.Add([]byte(v.Registration))
		}
	}
	f.Add([]byte(`{"type":"public-key","rawId":"AA","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`))
	p, err := LoadPolicy("")
	if err != nil {
		f.Fatal(err)
	}
	vf := &Verifier{Policy: p, Now: func() time.Time { return testNow }}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := InputFromRegistrationJSON(data, "")
		if err != nil {
			return
		}
		v, err := vf.Verify(in, Expect{RPID: "example.com"})
		if err == nil && v.Allowed && !v.Trusted {
			t.Fatal("allowed without trust")
		}
	})
}

// FuzzAttestationObject feeds raw attestationObject bytes.
func FuzzAttestationObject(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "..", "shared", "vectors", "registrations", "yubikey-neo-fido-u2f.json")); err == nil {
		var v vectorFile
		var reg registrationJSON
		if json.Unmarshal(b, &v) == nil && json.Unmarshal(v.Registration, &reg) == nil {
			if ao, err := decodeB64URL(reg.Response.AttestationObject); err == nil {
				f.Add(ao)
			}
		}
	}
	f.Add([]byte{0xa0})
	p, _ := LoadPolicy("")
	vf := &Verifier{Policy: p, Now: func() time.Time { return testNow }}
	f.Fuzz(func(t *testing.T, ao []byte) {
		_, _ = vf.Verify(Input{AttestationObject: ao, ClientDataHash: make([]byte, 32)}, Expect{RPID: "example.com"})
	})
}

// BenchmarkParseMDS verifies and indexes a generated blob of realistic size
// (several MB: thousands of entries, each with an attestation root).
func BenchmarkParseMDS(b *testing.B) {
	mdsRoot := newCA(b, "Bench MDS Root")
	roots := make([]testCA, 50)
	for i := range roots {
		roots[i] = newCA(b, "Vendor root "+strings.Repeat("x", i%7))
	}
	var entries []mdsEntry
	for i := 0; i < 4000; i++ {
		var id ctap.AAGUID
		copy(id[:], sha256.New().Sum([]byte{byte(i), byte(i >> 8)}))
		entries = append(entries, mdsEntry{aaguid: id.String(), root: roots[i%len(roots)].cert,
			statuses: []string{"FIDO_CERTIFIED_L1", "UPDATE_AVAILABLE"}, changed: testNow.AddDate(0, 0, -i%300)})
	}
	blob := mdsBlob(b, mdsRoot, 100, testNow.AddDate(0, 1, 0), entries)
	b.SetBytes(int64(len(blob)))
	for b.Loop() {
		m, err := parseMDS(blob, mdsRoot.cert, testNow)
		if err != nil || m.entryCount() != 4000 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(blob))/1e6, "MB/blob")
}

// attest keeps only the certificate of simkey's TEST root, to name it when a
// real ceremony meets it; it must be the very root simkey signs with.
func TestEmbeddedSimkeyRootIsTestcaRoot(t *testing.T) {
	b, err := embedded.ReadFile("roots/simkey-test-root.pem")
	if err != nil || string(b) != string(testca.RootPEM()) {
		t.Fatalf("attest/roots/simkey-test-root.pem differs from simkey/testca/root.pem (%v)", err)
	}
}

// A registration file may be the test-vector wrapper around the response,
// and the firmware comes as the key's getInfo text: "5.4.3" is 0x050403,
// anything else is an error before anything is judged.
func TestInputFromRegistrationJSONWrapperAndFirmware(t *testing.T) {
	v := loadVector(t, "yubikey-5-packed.json")
	wrapped, err := json.Marshal(map[string]any{"about": "wrapper", "registration": v.Registration})
	if err != nil {
		t.Fatal(err)
	}
	in, err := InputFromRegistrationJSON(wrapped, "5.4.3")
	if err != nil || in.Firmware == nil || *in.Firmware != 0x050403 {
		t.Fatalf("wrapped registration: %+v %v", in.Firmware, err)
	}
	if _, err := InputFromRegistrationJSON(v.Registration, "five"); err == nil {
		t.Fatal(`firmware "five" accepted`)
	}
}

func u64p(v uint64) *uint64 { return &v }

package report

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/internal/sim/testca"
	"github.com/keyceremony/keyceremony/internal/testenv"
	"github.com/keyceremony/keyceremony/workstation"
)

// tpmSigner opens the TPM (closed at the end of the test).
func tpmSigner(t *testing.T, addr string) workstation.Signer {
	t.Helper()
	s, closeTPM, err := workstation.Open(addr, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeTPM() })
	return s
}

const testPIN = "27182818"

// ceremonyReport runs the device part of a ceremony on a simkey with
// testPIN and builds the report from what it produced.
func ceremonyReport(t *testing.T, rehearsal bool) *Report {
	t.Helper()
	ctx := context.Background()
	key, err := simkey.New(simkey.Config{TouchDelay: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	c := ctap.NewClient(key, ctap.Options{})
	pin := []byte(testPIN)
	if err := c.SetPIN(ctx, pin); err != nil {
		t.Fatal(err)
	}
	tok, err := c.GetPINToken(ctx, pin, ctap.TokenRequest{Permissions: ctap.PermMakeCredential, RPID: "login.microsoft.com"})
	if err != nil {
		t.Fatal(err)
	}
	cd := []byte(`{"type":"webauthn.create","challenge":"Y2hhbGxlbmdl","origin":"https://login.microsoft.com"}`)
	h := sha256.Sum256(cd)
	res, err := c.MakeCredential(ctx, ctap.MakeCredentialOptions{ClientDataHash: h[:], RP: ctap.RelyingParty{ID: "login.microsoft.com"},
		User: ctap.User{ID: []byte("bg"), Name: "bg@contoso.onmicrosoft.com"}, ResidentKey: true, Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := c.Info(ctx)
	pol, _ := attest.LoadPolicy("")
	in, _ := attest.InputFromMakeCredential(res, cd, info.FirmwareVersion)
	root, _ := testca.Root()
	vf := &attest.Verifier{Policy: pol, Rehearsal: true, RehearsalRoots: []*x509.Certificate{root},
		RehearsalModel: &attest.AllowedModel{AAGUID: testca.AAGUIDString(), Name: testca.ModelName}}
	verdict, err := vf.Verify(in, attest.Expect{RPID: "login.microsoft.com"})
	if err != nil {
		t.Fatal(err)
	}
	ad, _ := ctap.ParseAuthData(res.AuthData)
	ck, _ := ctapwire.ParseCOSEKey(ad.CredentialKey)
	pub, _ := ck.PublicKey()
	der, _ := x509.MarshalPKIXPublicKey(pub)
	retries, _, _ := c.PINRetries(ctx)
	start := time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)
	return &Report{
		Type: TypeCeremony, Rehearsal: rehearsal, CeremonyID: "kc-2026-11-24-0700",
		Started: start, Ended: start.Add(42 * time.Minute),
		Tenant:      Tenant{ID: "00000000-0000-0000-0000-0000000000aa", Domain: "contoso.onmicrosoft.com"},
		Account:     Account{UPN: "bg@contoso.onmicrosoft.com", ObjectID: "11111111-2222-3333-4444-555555555555"},
		Officers:    []Person{{Role: "officer-a", Name: "Alice Example"}, {Role: "officer-b", Name: "Bob Example"}, {Role: "witness", Name: "Wendy Witness"}},
		Workstation: Workstation{Hostname: "kc-ws-01"},
		Tool:        Tool{Version: "test", BinarySHA256: strings.Repeat("ab", 32), GoVersion: "go1.26"},
		Policy:      &PolicyRef{Name: pol.Name, SHA256: pol.SHA256()},
		Keys: []Key{{
			Slot: 1, AAGUID: ad.AAGUID.String(), Model: verdict.Model, Firmware: verdict.Firmware,
			CredentialID:  base64.RawURLEncoding.EncodeToString(ad.CredentialID),
			PublicKeyCOSE: base64.RawURLEncoding.EncodeToString(ad.CredentialKey),
			PublicKeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
			Attestation:   recordOf(verdict), GraphMethodID: "method-1", DisplayName: "Break glass key 1",
			PINSet: true, PINSplit: true, PINRetries: retries, MinPINLength: info.MinPINLength,
		}},
		Steps: []Step{
			{Name: "reset key 1", Started: start, Ended: start.Add(time.Minute), ConfirmedBy: []string{"Alice Example", "Bob Example"}, Outcome: "done"},
			{Name: "set PIN key 1", Started: start.Add(time.Minute), Ended: start.Add(2 * time.Minute), ConfirmedBy: []string{"Alice Example", "Bob Example"}, Outcome: "done"},
		},
	}
}

// The whole path for the safe: TPM-signed, verified by keyceremony, by
// ssh-keygen -Y verify and by openssl.
func TestSignWithTPMAndVerifyWithStandardTools(t *testing.T) {
	signer := tpmSigner(t, testenv.Swtpm(t))
	dir := filepath.Join(t.TempDir(), "safe")
	w, err := Write(dir, ceremonyReport(t, false), signer)
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	pub, err := parsePublicKey(read(filePublicKey))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Verify(read(FileReport), read(FileSignature), pub, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Workstation.SignerKind != "tpm" || r.Workstation.SignerFingerprint != w.Fingerprint {
		t.Fatalf("%+v", r.Workstation)
	}

	keygen := testenv.Tool(t, "ssh-keygen", "openssh-client")
	cmd := exec.Command(keygen, "-Y", "verify", "-f", filepath.Join(dir, fileAllowedSigners), "-I", principal, "-n", Namespace, "-s", filepath.Join(dir, FileSignature))
	cmd.Stdin = bytes.NewReader(read(FileReport))
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Good") {
		t.Fatalf("ssh-keygen -Y verify: %v\n%s", err, out)
	}
	tampered := append([]byte(nil), read(FileReport)...)
	tampered[10] ^= 1
	cmd = exec.Command(keygen, "-Y", "verify", "-f", filepath.Join(dir, fileAllowedSigners), "-I", principal, "-n", Namespace, "-s", filepath.Join(dir, FileSignature))
	cmd.Stdin = bytes.NewReader(tampered)
	if err := cmd.Run(); err == nil {
		t.Fatal("ssh-keygen accepted a tampered report")
	}

	openssl := testenv.Tool(t, "openssl", "openssl")
	out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", filepath.Join(dir, filePublicKeyPEM),
		"-signature", filepath.Join(dir, fileRawSignature), filepath.Join(dir, FileReport)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Fatalf("openssl dgst -verify: %v\n%s", err, out)
	}
}

func softwareSigner(t *testing.T, kind string) workstation.Signer {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return workstation.Signer{Key: k, Kind: kind}
}

func TestTamperingIsDetectedEachWithItsMessage(t *testing.T) {
	signer := softwareSigner(t, "software")
	dir := t.TempDir()
	w, err := Write(dir, ceremonyReport(t, false), signer)
	if err != nil {
		t.Fatal(err)
	}
	body := w.ReportJSON
	sig, _ := os.ReadFile(filepath.Join(dir, FileSignature))
	pub, _ := signer.SSHPublicKey()
	if _, err := Verify(body, sig, pub, VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range body {
		bad := append([]byte(nil), body...)
		bad[i] ^= 0x01
		if _, err := Verify(bad, sig, pub, VerifyOptions{}); !errors.Is(err, errTampered) {
			t.Fatalf("report byte %d changed: %v", i, err)
		}
	}
	for i := range sig {
		bad := append([]byte(nil), sig...)
		bad[i] ^= 0x01
		if _, err := Verify(body, bad, pub, VerifyOptions{}); err == nil {
			t.Fatalf("signature byte %d changed and still verified", i)
		}
	}
	other, _ := softwareSigner(t, "software").SSHPublicKey()
	if _, err := Verify(body, sig, other, VerifyOptions{}); !errors.Is(err, errWrongKey) {
		t.Fatalf("wrong public key: %v", err)
	}
	if _, err := Verify(body, []byte("not a signature"), pub, VerifyOptions{}); !errors.Is(err, errSignatureDamaged) {
		t.Fatalf("garbage signature: %v", err)
	}
	// A validly signed but re-encoded report is refused as not canonical.
	var pretty bytes.Buffer
	pretty.Write(bytes.Replace(body, []byte(`,"type"`), []byte(`, "type"`), 1))
	sshSigner, _ := ssh.NewSignerFromSigner(signer.Key)
	s2, _ := sshsig.Sign(bytes.NewReader(pretty.Bytes()), sshSigner, sshsig.HashSHA512, Namespace)
	if _, err := Verify(pretty.Bytes(), sshsig.Armor(s2), pub, VerifyOptions{}); !errors.Is(err, errNotCanonical) {
		t.Fatalf("non-canonical report: %v", err)
	}
	// A signature for another namespace is not a report signature.
	s3, _ := sshsig.Sign(bytes.NewReader(body), sshSigner, sshsig.HashSHA512, "file")
	if _, err := Verify(body, sshsig.Armor(s3), pub, VerifyOptions{}); !errors.Is(err, errTampered) {
		t.Fatalf("other namespace: %v", err)
	}
}

func TestRehearsalReportIsNotACeremonyRecord(t *testing.T) {
	signer, _ := workstation.NewRehearsal()
	if _, err := Write(t.TempDir(), ceremonyReport(t, false), signer); err == nil {
		t.Fatal("a real report was signed by a rehearsal key")
	}
	// A real key may sign a rehearsal (the workstation TPM at a dry run);
	// the report still verifies only as a rehearsal.
	real := softwareSigner(t, "software")
	rw, err := Write(t.TempDir(), ceremonyReport(t, true), real)
	if err != nil {
		t.Fatal(err)
	}
	rsig, _ := os.ReadFile(filepath.Join(rw.Dir, FileSignature))
	rpub, _ := real.SSHPublicKey()
	if _, err := Verify(rw.ReportJSON, rsig, rpub, VerifyOptions{}); !errors.Is(err, errRehearsal) {
		t.Fatalf("a TPM-signed rehearsal presented as real: %v", err)
	}
	w, err := Write(t.TempDir(), ceremonyReport(t, true), signer)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := os.ReadFile(filepath.Join(w.Dir, FileSignature))
	pub, _ := signer.SSHPublicKey()
	if _, err := Verify(w.ReportJSON, sig, pub, VerifyOptions{}); !errors.Is(err, errRehearsal) {
		t.Fatalf("rehearsal presented as real: %v", err)
	}
	if _, err := Verify(w.ReportJSON, sig, pub, VerifyOptions{Rehearsal: true}); err != nil {
		t.Fatalf("rehearsal checked as one: %v", err)
	}
	page, _ := os.ReadFile(filepath.Join(w.Dir, filePrintable))
	if !strings.Contains(string(page), "REHEARSAL") {
		t.Fatal("the printed page of a rehearsal does not say so")
	}
}

func TestChainToPreviousReport(t *testing.T) {
	signer := softwareSigner(t, "software")
	pub, _ := signer.SSHPublicKey()
	first, err := Write(t.TempDir(), ceremonyReport(t, false), signer)
	if err != nil {
		t.Fatal(err)
	}
	firstReport, _ := Parse(first.ReportJSON)
	next := ceremonyReport(t, false)
	next.Type, next.CeremonyID = TypeHealth, "kc-health-2027-02-24"
	next.Started, next.Ended = next.Started.AddDate(0, 3, 0), next.Ended.AddDate(0, 3, 0)
	next.Previous = Ref(first.ReportJSON, firstReport)
	second, err := Write(t.TempDir(), next, signer)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := os.ReadFile(filepath.Join(second.Dir, FileSignature))
	if _, err := Verify(second.ReportJSON, sig, pub, VerifyOptions{Previous: first.ReportJSON}); err != nil {
		t.Fatalf("intact chain: %v", err)
	}
	other, _ := Write(t.TempDir(), ceremonyReport(t, false), signer) // another first report
	if _, err := Verify(second.ReportJSON, sig, pub, VerifyOptions{Previous: other.ReportJSON}); !errors.Is(err, errChain) {
		t.Fatalf("broken chain: %v", err)
	}
	firstSig, _ := os.ReadFile(filepath.Join(first.Dir, FileSignature))
	if _, err := Verify(first.ReportJSON, firstSig, pub, VerifyOptions{Previous: second.ReportJSON}); !errors.Is(err, errChain) {
		t.Fatalf("a first report checked against a previous one: %v", err)
	}
}

func TestCanonicalIsStable(t *testing.T) {
	r := ceremonyReport(t, false)
	r.Workstation.SignerKind = "software"
	a, _ := r.canonical()
	b, _ := r.canonical()
	parsed, err := Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := parsed.canonical()
	if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
		t.Fatal("canonical encoding is not stable across a parse")
	}
	if _, err := Parse(bytes.Replace(a, []byte(`"schema":"`+schema+`"`), []byte(`"schema":"other/9"`), 1)); err == nil {
		t.Fatal("foreign schema accepted")
	}
	if _, err := Parse(bytes.Replace(a, []byte(`{"account"`), []byte(`{"extra":1,"account"`), 1)); err == nil {
		t.Fatal("unknown field accepted")
	}
}

// The PIN of the test ceremony appears in no file the package writes: not as
// text, hex, base64, nor as the PIN hash CTAP uses.
func TestPINNeverWritten(t *testing.T) {
	w, err := Write(t.TempDir(), ceremonyReport(t, false), softwareSigner(t, "software"))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(testPIN))
	needles := []string{testPIN, hex.EncodeToString([]byte(testPIN)), base64.StdEncoding.EncodeToString([]byte(testPIN)),
		base64.RawURLEncoding.EncodeToString([]byte(testPIN)), hex.EncodeToString(h[:16]), base64.RawURLEncoding.EncodeToString(h[:16])}
	for _, f := range w.Files {
		b, _ := os.ReadFile(f)
		for _, n := range needles {
			if strings.Contains(string(b), n) {
				t.Errorf("%s contains the PIN (as %q)", f, n)
			}
		}
	}
	pdf, err := renderPDF(ceremonyReport(t, false), w.ReportJSON)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF")) || bytes.Contains(pdf, []byte(testPIN)) {
		t.Fatalf("PDF: %v", err)
	}
}

func TestPrintablePage(t *testing.T) {
	r := ceremonyReport(t, false)
	w, err := Write(t.TempDir(), r, softwareSigner(t, "software"))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := os.ReadFile(filepath.Join(w.Dir, filePrintable))
	for _, want := range []string{groupFingerprint(w.Fingerprint), "Alice Example", "Bob Example", "signature: ____", "Tamper-evident bag", "Break glass key 1", "ssh-keygen -Y verify"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for i, l := range strings.Split(string(page), "\n") {
		if n := len([]rune(l)); n > 130 {
			t.Errorf("line %d is %d characters wide", i+1, n)
		}
	}
}

// recordOf copies a verdict into the report's record (keystep.Record does
// it in the product; report cannot import keystep).
func recordOf(v *attest.Verdict) *Attestation {
	r := &Attestation{Trusted: v.Trusted, Allowed: v.Allowed, Format: v.Format, AttestationType: v.AttestationType, AAGUID: v.AAGUID,
		CertAAGUID: v.CertAAGUID, Model: v.Model, Firmware: v.Firmware, PolicyName: v.PolicyName, PolicySHA256: v.PolicySHA256, Rehearsal: v.Rehearsal}
	if v.Root != nil {
		r.Root = &Certificate{Subject: v.Root.Subject, SHA256: v.Root.SHA256}
	}
	for _, c := range v.Chain {
		r.Chain = append(r.Chain, Certificate{Subject: c.Subject, SHA256: c.SHA256})
	}
	return r
}

// A keyceremony-report/1 report signed by the release before the report
// had its own attestation record (commit 0533525, `rehearse --yes`) still
// verifies and reads the same: the schema did not change with the type.
func TestOldReportStillVerifies(t *testing.T) {
	body, err := os.ReadFile("testdata/v1/report.json")
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := os.ReadFile("testdata/v1/report.json.sig")
	pubLine, _ := os.ReadFile("testdata/v1/report.pub")
	pub, _, _, _, err := ssh.ParseAuthorizedKey(pubLine)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Verify(body, sig, pub, VerifyOptions{Rehearsal: true})
	if err != nil {
		t.Fatalf("the old report no longer verifies: %v", err)
	}
	if r.Schema != schema || len(r.Keys) != 2 {
		t.Fatalf("schema %q, %d keys", r.Schema, len(r.Keys))
	}
	for _, k := range r.Keys {
		a := k.Attestation
		if a == nil || !a.Allowed || !a.Trusted || a.Format != "packed" || a.Root == nil || len(a.Chain) != 2 || a.PolicySHA256 == "" {
			t.Fatalf("key %d attestation read as %+v", k.Slot, a)
		}
	}
	again, err := r.canonical()
	if err != nil || !bytes.Equal(again, body) {
		t.Fatal("the old report does not re-encode to its own bytes")
	}
}

// pdfWord is one word of a PDF page with its box, as pdftotext -bbox gives it.
type pdfWord struct {
	page                   int
	xMin, yMin, xMax, yMax float64
	text                   string
}

var (
	rePDFPage = regexp.MustCompile(`<page width`)
	rePDFWord = regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)
)

// pdfWords reads every word of a PDF with its page and position (poppler's
// pdftotext, installed by the test command).
func pdfWords(t *testing.T, path string) []pdfWord {
	t.Helper()
	bin := testenv.Tool(t, "pdftotext", "poppler-utils")
	out, err := exec.Command(bin, "-bbox", path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	var words []pdfWord
	page := 0
	for _, l := range strings.Split(string(out), "\n") {
		if rePDFPage.MatchString(l) {
			page++
		}
		if m := rePDFWord.FindStringSubmatch(l); m != nil {
			f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
			words = append(words, pdfWord{page, f(m[1]), f(m[2]), f(m[3]), f(m[4]), html.UnescapeString(m[5])})
		}
	}
	return words
}

// The printed page for the safe, checked as a reader meets it: rendered by
// poppler, every page carries the ceremony ID and REHEARSAL in its header,
// "page i of n" and the verify command that works for this report in its
// footer; the fingerprint is set large and grouped; Officer A, Officer B
// and the witness each have a signature line; no hash is broken across
// lines; the fonts are embedded.
func TestPrintedPDFLayout(t *testing.T) {
	r := ceremonyReport(t, true)
	for i := range 120 { // enough steps for a second page
		r.Steps = append(r.Steps, Step{Name: fmt.Sprintf("step %d", i), Outcome: "done", Started: r.Started, Ended: r.Started})
	}
	signer, _ := workstation.NewRehearsal()
	w, err := Write(t.TempDir(), r, signer)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(filepath.Join(w.Dir, FileReport))
	pdfBytes, err := renderPDF(r, body)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.pdf")
	os.WriteFile(path, pdfBytes, 0o644)
	words := pdfWords(t, path)
	pages := 0
	for _, wd := range words {
		pages = max(pages, wd.page)
	}
	if pages < 2 {
		t.Fatalf("%d pages; the test wants at least 2", pages)
	}
	text := func(page int) string {
		var b []string
		for _, wd := range words {
			if wd.page == page {
				b = append(b, wd.text)
			}
		}
		return strings.Join(b, " ")
	}
	for p := 1; p <= pages; p++ {
		s := text(p)
		for _, want := range []string{r.CeremonyID, "REHEARSAL", fmt.Sprintf("page %d of %d", p, pages), "Verify: keyceremony report verify --rehearsal report.json"} {
			if !strings.Contains(s, want) {
				t.Errorf("page %d lacks %q", p, want)
			}
		}
	}
	all := text(pages)
	for p := 1; p < pages; p++ {
		all = text(p) + " " + all
	}
	if !strings.Contains(all, groupFingerprint(w.Fingerprint)) {
		t.Errorf("the grouped fingerprint %q is not on the page", groupFingerprint(w.Fingerprint))
	}
	// Large: the fingerprint's words stand taller than the body text.
	var fpHeight, bodyHeight float64
	for _, wd := range words {
		switch {
		case strings.HasPrefix(wd.text, "SHA256:") && wd.yMax-wd.yMin > fpHeight:
			fpHeight = wd.yMax - wd.yMin
		case wd.text == "Account:":
			bodyHeight = wd.yMax - wd.yMin
		}
	}
	// Nothing runs past the margins (15 mm = 42.5 pt on an A4 page 595 pt wide).
	for _, wd := range words {
		if wd.xMin < 40 || wd.xMax > 555 {
			t.Errorf("%q on page %d runs past the margins (x %.0f to %.0f pt)", wd.text, wd.page, wd.xMin, wd.xMax)
		}
	}
	if fpHeight < 1.4*bodyHeight || bodyHeight == 0 {
		t.Errorf("the fingerprint is %.1f pt high, the body %.1f pt", fpHeight, bodyHeight)
	}
	for _, role := range []string{"Officer A", "Officer B", "Witness"} {
		if !regexp.MustCompile(role + ` \S+.*signature: _+`).MatchString(all) {
			t.Errorf("no signature line for %s", role)
		}
	}
	// Every hash of the report stands whole on one line.
	sum := sha256.Sum256(body)
	for _, h := range []string{hex.EncodeToString(sum[:]), r.Tool.BinarySHA256, r.Policy.SHA256} {
		found := false
		for _, wd := range words {
			found = found || strings.Contains(wd.text, h)
		}
		if !found {
			t.Errorf("hash %s is broken across lines", h)
		}
	}
	fonts, err := exec.Command(testenv.Tool(t, "pdffonts", "poppler-utils"), path).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(fonts)), "\n")
	if len(lines) < 3 {
		t.Fatalf("pdffonts:\n%s", fonts)
	}
	for _, l := range lines[2:] {
		if f := strings.Fields(l); len(f) < 5 || !slices.Contains(f, "yes") {
			t.Errorf("a font is not embedded: %s", l)
		}
	}
	// And it renders to an image a person can look at.
	png := filepath.Join(t.TempDir(), "page")
	if out, err := exec.Command(testenv.Tool(t, "pdftoppm", "poppler-utils"), "-png", "-r", "60", "-f", "1", "-l", "1", path, png).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	if keep := os.Getenv("KEYCEREMONY_KEEP_PDF"); keep != "" {
		os.WriteFile(keep, pdfBytes, 0o644)
	}
}

// Whatever is wrong with a file given as a report, the officer reads that
// it is not a keyceremony report, then why.
func TestParseSaysNotAReport(t *testing.T) {
	for _, tc := range []struct{ data, why string }{
		{"root:x:0:0:root:/root:/bin/bash\n", "invalid character"},
		{`{"schema":"keyceremony-report/1","type":"ceremony"} {}`, "trailing data"},
		{`{"schema":"other/1"}`, `schema "other/1"`},
		{`{"schema":"keyceremony-report/1","type":"x"}`, `type "x"`},
		{`{"schema":"keyceremony-report/1","type":"health"}`, "ceremony id, account or signer missing"},
		{`{"schema":"keyceremony-report/1","surprise":1}`, "unknown field"},
	} {
		_, err := Parse([]byte(tc.data))
		if !errors.Is(err, errNotAReport) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%q: %v", tc.data, err)
		}
	}
}

// A credential ID longer than the summary page is wide (keys that wrap
// their key handle make IDs of 100+ characters) continues under itself.
func TestSummaryWrapsLongValues(t *testing.T) {
	var b strings.Builder
	long := strings.Repeat("abcdefghij", 25)
	writeWrapped(&b, "         credential  ", long)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), b.String())
	}
	var joined string
	for _, l := range lines {
		if len([]rune(l)) > summaryWidth || !strings.HasPrefix(l, "         ") {
			t.Errorf("line %q: wider than %d or not indented", l, summaryWidth)
		}
		joined += strings.TrimLeft(strings.TrimPrefix(l, "         credential  "), " ")
	}
	if joined != long {
		t.Errorf("the wrapped value reads back as %q", joined)
	}
}

// Every value on the printed page stands under or beside its label: no
// line holds a bare hash or ID whose label is not on it or just above it,
// and this report's own hash is never mistaken for the previous report's.
func TestPrintedValuesAreLabelled(t *testing.T) {
	r := ceremonyReport(t, false)
	r.Keys[0].CredentialID = strings.Repeat("Q", 120) // longer than a line
	body := []byte(`{"a report":"body"}`)
	page, err := render(r, body)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(page), "\n")
	chunk := regexp.MustCompile(`^    [^ -]`) // a long value's piece, under its label
	for i, l := range lines {
		if chunk.MatchString(l) {
			j := i - 1
			for j > 0 && chunk.MatchString(lines[j]) {
				j--
			}
			if !strings.HasSuffix(strings.TrimSpace(lines[j]), ":") {
				t.Errorf("line %d %q continues no label (above it: %q)", i+1, l, lines[j])
			}
		}
		if n := len([]rune(l)); n > pageWidth {
			t.Errorf("line %d is %d characters wide: %q", i+1, n, l)
		}
	}
	sum := sha256.Sum256(body)
	text := string(page)
	for _, want := range []string{"Credential ID:", "Public key SHA-256:", "Tool binary SHA-256:", "This report SHA-256:\n    " + hex.EncodeToString(sum[:]),
		"Previous report:        none", "date and place:", "Witness", "Tamper-evident bag"} {
		if !strings.Contains(text, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// The printed page shows a key's firmware with where it came from, and
// says "not reported" for a key that reported none (it printed an empty
// field).
func TestPrintedFirmwareSaysItsSource(t *testing.T) {
	for _, c := range []struct{ firmware, source, want string }{
		{"8.0.0", "CTAPHID_INIT device version", "8.0.0 (from CTAPHID_INIT device version)"},
		{"8.0", "getInfo firmwareVersion", "8.0 (from getInfo firmwareVersion)"},
		{"", "", "not reported"},
	} {
		r := ceremonyReport(t, false)
		r.Keys[0].Firmware, r.Keys[0].FirmwareSource = c.firmware, c.source
		page, err := render(r, []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`Firmware: +` + regexp.QuoteMeta(c.want) + "\n").Match(page) {
			t.Errorf("the page does not show firmware %q:\n%s", c.want, page)
		}
	}
}

// A health report is laid out as what was checked, each result with its
// detail; it carries none of the ceremony's PIN or tamper-bag fields.
func TestPrintedHealthReportHasItsOwnLayout(t *testing.T) {
	r := ceremonyReport(t, false)
	r.Type = TypeHealth
	r.Steps = []Step{
		{Name: "key 1 holds its credential", Outcome: "pass", Detail: "test assertion verified with the recorded public key"},
		{Name: "no sign-in since the last report", Outcome: "finding", Detail: "sign-in at 2026-11-02T10:00:00Z from 203.0.113.9"},
		{Name: "FIDO2 method policy", Outcome: "could not check", Detail: "Policy.Read.All was not granted"},
	}
	page, err := render(r, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(page)
	for _, want := range []string{"KEY HEALTH CHECK REPORT", "Health check ID:", "WHAT WAS CHECKED",
		"PASS             key 1 holds its credential", "test assertion verified with the recorded public key",
		"FINDING          no sign-in since the last report", "COULD NOT CHECK  FIDO2 method policy",
		"Policy.Read.All was not granted", "date and place:"} {
		if !strings.Contains(text, want) {
			t.Errorf("the health page lacks %q:\n%s", want, text)
		}
	}
	for _, unwanted := range []string{"PIN:", "Tamper-evident bag", "STEPS", "Ceremony ID:"} {
		if strings.Contains(text, unwanted) {
			t.Errorf("the health page carries the ceremony's %q:\n%s", unwanted, text)
		}
	}
}

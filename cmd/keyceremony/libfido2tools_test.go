package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/internal/hidshim"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/internal/testenv"
)

// fido2Tools runs Debian's fido2-tools (libfido2 1.12) against a simkey
// through the hidraw LD_PRELOAD shim.
type fido2Tools struct {
	t   *testing.T
	env []string
	dir string
}

func newFido2Tools(t *testing.T, sock string) *fido2Tools {
	t.Helper()
	testenv.Tool(t, "fido2-token", "fido2-tools")
	so := hidshim.Build(t)
	return &fido2Tools{t: t, env: append(os.Environ(), hidshim.Env(so, sock)...), dir: t.TempDir()}
}

// run runs one tool. PINs go on stdin: in a new session the tools have no
// /dev/tty, so readpassphrase falls back to standard input.
func (f *fido2Tools) run(stdin string, name string, args ...string) (string, error) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = f.env
	cmd.Dir = f.dir
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (f *fido2Tools) must(stdin string, name string, args ...string) string {
	f.t.Helper()
	out, err := f.run(stdin, name, args...)
	if err != nil {
		f.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func (f *fido2Tools) write(name, content string) string {
	f.t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestLibfido2ToolsAgreeWithSimkey(t *testing.T) {
	sock := serveSimkey(t)
	f := newFido2Tools(t, sock)
	dev := hidshim.DevicePath

	// getInfo as libfido2 parses it.
	info := f.must("", "fido2-token", "-I", dev)
	aaguid := simkey.DefaultAAGUID()
	for _, want := range []string{"version strings: FIDO_2_0, FIDO_2_1", "aaguid: " + hex.EncodeToString(aaguid[:]), "fwversion: 0x50704",
		"maxmsgsiz: 1200", "pin protocols: 2, 1", "pin retries: 8", "remaining rk(s): 25", "noclientPin", "credMgmt", "minpinlen: 4"} {
		if !strings.Contains(info, want) {
			t.Errorf("fido2-token -I lacks %q:\n%s", want, info)
		}
	}

	// Set the PIN (libfido2 itself refuses mismatched entries).
	if out, err := f.run("4711\n4712\n", "fido2-token", "-S", dev); err == nil {
		t.Fatalf("mismatched PIN entries accepted:\n%s", out)
	}
	f.must("4711\n4711\n", "fido2-token", "-S", dev)
	if info := f.must("", "fido2-token", "-I", dev); !strings.Contains(info, "clientPin,") {
		t.Fatalf("clientPin not set after -S:\n%s", info)
	}

	// A credential with packed attestation, verified by fido2-cred -V.
	cdh := sha256.Sum256([]byte("fido2-cred client data"))
	f.write("cred.in", b64(cdh[:])+"\nlogin.microsoft.com\nbreakglass1@contoso.onmicrosoft.com\n"+b64([]byte("user-1"))+"\n")
	f.must("4711\n", "fido2-cred", "-M", "-r", "-v", "-i", "cred.in", "-o", "cred.out", dev, "es256")
	credOut, _ := os.ReadFile(filepath.Join(f.dir, "cred.out"))
	lines := strings.Split(strings.TrimSpace(string(credOut)), "\n")
	if len(lines) < 7 || lines[2] != "packed" {
		t.Fatalf("fido2-cred -M output:\n%s", credOut)
	}
	credID := lines[4]
	f.must("", "fido2-cred", "-V", "-v", "-i", "cred.out", "-o", "cred.pub", "es256")
	pub, _ := os.ReadFile(filepath.Join(f.dir, "cred.pub"))
	if !strings.Contains(string(pub), credID) || !strings.Contains(string(pub), "BEGIN PUBLIC KEY") {
		t.Fatalf("fido2-cred -V output:\n%s", pub)
	}
	// The attestation certificate libfido2 extracted is simkey's, which chains to the test root.
	if err := chainsToSimkeyRoot(lines[6]); err != nil {
		t.Fatalf("x5c from libfido2: %v", err)
	}
	// A tampered attestation signature fails fido2-cred -V.
	tampered := append([]string(nil), lines...)
	sig, _ := base64.StdEncoding.DecodeString(tampered[5])
	sig[len(sig)-1] ^= 1
	tampered[5] = b64(sig)
	f.write("tampered.out", strings.Join(tampered, "\n")+"\n")
	if out, err := f.run("", "fido2-cred", "-V", "-i", "tampered.out", "es256"); err == nil {
		t.Fatalf("fido2-cred -V accepted a tampered attestation:\n%s", out)
	}

	// An assertion with user verification, verified with the credential's public key.
	adh := sha256.Sum256([]byte("fido2-assert client data"))
	f.write("assert.in", b64(adh[:])+"\nlogin.microsoft.com\n"+credID+"\n")
	f.must("4711\n", "fido2-assert", "-G", "-v", "-i", "assert.in", "-o", "assert.out", dev)
	pemOnly := string(pub[strings.Index(string(pub), "-----BEGIN"):])
	f.write("pub.pem", pemOnly)
	f.must("", "fido2-assert", "-V", "-v", "-i", "assert.out", "pub.pem", "es256")
	// A wrong PIN is refused with PIN_INVALID and costs one retry.
	if out, err := f.run("0000\n", "fido2-assert", "-G", "-v", "-i", "assert.in", dev); err == nil || !strings.Contains(out, "FIDO_ERR_PIN_INVALID") {
		t.Fatalf("wrong PIN: %v\n%s", err, out)
	}
	if info := f.must("", "fido2-token", "-I", dev); !strings.Contains(info, "pin retries: 7") {
		t.Fatalf("retries after one wrong PIN:\n%s", info)
	}

	// Credential management: list RPs and credentials, delete, list again.
	if out := f.must("4711\n", "fido2-token", "-L", "-r", dev); !strings.Contains(out, "login.microsoft.com") {
		t.Fatalf("fido2-token -L -r:\n%s", out)
	}
	if out := f.must("4711\n", "fido2-token", "-L", "-k", "login.microsoft.com", dev); !strings.Contains(out, credID) || !strings.Contains(out, "es256") {
		t.Fatalf("fido2-token -L -k lacks credential %s:\n%s", credID, out)
	}
	f.must("4711\n", "fido2-token", "-D", "-i", credID, dev)
	if out, err := f.run("4711\n", "fido2-token", "-L", "-k", "login.microsoft.com", dev); err == nil || strings.Contains(out, credID) {
		t.Fatalf("the deleted credential is still listed: %v\n%s", err, out)
	}
	if out, err := f.run("4711\n", "fido2-assert", "-G", "-i", "assert.in", dev); err == nil || !strings.Contains(out, "FIDO_ERR_NO_CREDENTIALS") {
		t.Fatalf("assertion with a deleted credential: %v\n%s", err, out)
	}
}

// chainsToSimkeyRoot checks a base64 DER attestation certificate chains to
// simkey's test root.
func chainsToSimkeyRoot(b64DER string) error {
	der, err := base64.StdEncoding.DecodeString(b64DER)
	if err != nil {
		return err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	root, err := simkey.TestRoot()
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}

func TestLibfido2ResetOnlyInsideThePowerUpWindow(t *testing.T) {
	late := serveSimkey(t, "--reset-window", "200ms")
	f := newFido2Tools(t, late)
	f.must("4711\n4711\n", "fido2-token", "-S", hidshim.DevicePath)
	time.Sleep(300 * time.Millisecond)
	if out, err := f.run("", "fido2-token", "-R", hidshim.DevicePath); err == nil || !strings.Contains(out, "FIDO_ERR_NOT_ALLOWED") {
		t.Fatalf("reset outside the window: %v\n%s", err, out)
	}
	if info := f.must("", "fido2-token", "-I", hidshim.DevicePath); !strings.Contains(info, "clientPin,") {
		t.Fatal("a refused reset erased the PIN")
	}

	fresh := serveSimkey(t)
	g := newFido2Tools(t, fresh)
	g.must("4711\n4711\n", "fido2-token", "-S", hidshim.DevicePath)
	g.must("", "fido2-token", "-R", hidshim.DevicePath)
	if info := g.must("", "fido2-token", "-I", hidshim.DevicePath); !strings.Contains(info, "noclientPin") {
		t.Fatalf("PIN survived the reset:\n%s", info)
	}
}

package testenv

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Required reports whether missing tools and data must fail tests: in CI
// (CI=true) or with KEYCEREMONY_REQUIRE_INTEROP=1.
func Required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("KEYCEREMONY_REQUIRE_INTEROP") == "1"
}

// Missing fails (Required) or skips loudly with msg.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if Required() {
		t.Fatal(msg)
	}
	t.Skip("SKIPPED LOUDLY: " + msg)
}

// Tool finds an external tool installed by the test command.
func Tool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" not found: install Debian package "+debianPackage+" (the README test command does)")
	}
	return p
}

// VectorsDir returns shared/vectors beside the checkout, from a package
// directory depth levels below the repository root.
func VectorsDir(t testing.TB, depth int) string {
	t.Helper()
	parts := []string{}
	for i := 0; i < depth+1; i++ {
		parts = append(parts, "..")
	}
	dir := filepath.Join(append(parts, "shared", "vectors")...)
	if _, err := os.Stat(dir); err != nil {
		Missing(t, "real-device vectors not found at "+dir+": "+err.Error())
	}
	return dir
}

// Swtpm runs Debian's swtpm on a UNIX socket for the test and returns its
// address ("swtpm:PATH"), as the workstation package opens it.
func Swtpm(t testing.TB) string {
	t.Helper()
	bin := Tool(t, "swtpm", "swtpm")
	dir := t.TempDir()
	sock := filepath.Join(dir, "tpm.sock")
	cmd := exec.Command(bin, "socket", "--tpm2", "--tpmstate", "dir="+dir,
		"--server", "type=unixio,path="+sock, "--ctrl", "type=unixio,path="+filepath.Join(dir, "ctrl.sock"),
		"--flags", "not-need-init,startup-clear")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Ready when it accepts a connection: the socket file appears at bind,
	// before swtpm listens, and a dial in between is refused. swtpm serves
	// one connection at a time and takes the next once this one closes.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return "swtpm:" + sock
		}
		if time.Now().After(deadline) {
			t.Fatalf("swtpm did not start: %s", stderr.String())
		}
	}
}

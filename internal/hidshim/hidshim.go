package hidshim

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keyceremony/keyceremony/internal/testenv"
)

//go:embed csrc/hidraw_shim.c
var source []byte

// DevicePath is the fake hidraw node the shim answers for.
const DevicePath = "/dev/hidraw-simkey0"

// Build compiles the shim with gcc into a directory of the test and returns
// the shared object's path. A missing gcc fails in CI and skips loudly
// elsewhere (the README test command installs it).
func Build(t testing.TB) string {
	t.Helper()
	testenv.Tool(t, "gcc", "gcc")
	so, err := BuildTo(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return so
}

// BuildTo compiles the shim into dir, for a TestMain that has no T.
func BuildTo(dir string) (string, error) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return "", fmt.Errorf(
			"build the hidraw shim: gcc not found: install Debian package gcc (the README test command does)",
		)
	}
	sum := sha256.Sum256(source)
	src := filepath.Join(dir, "hidraw_shim.c")
	if err := os.WriteFile(src, source, 0o600); err != nil {
		return "", err
	}
	so := filepath.Join(dir, "hidraw_shim-"+hex.EncodeToString(sum[:4])+".so")
	out, err := exec.Command(gcc, "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", so, src, "-ldl").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build the hidraw shim: %v\n%s", err, out)
	}
	return so, nil
}

// Env is the environment that makes a process started with it reach the
// simkey listening on socket through DevicePath.
func Env(so, socket string) []string {
	return []string{"LD_PRELOAD=" + so, "SIMKEY_SHIM_PATH=" + DevicePath, "SIMKEY_SHIM_SOCKET=" + socket}
}

package workstation

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/internal/testenv"
)

// tpmKey opens the TPM and its report key (closed at the end of the test, or by close).
func tpmKey(t *testing.T, addr string) (s Signer, created bool, close func()) {
	t.Helper()
	tpm, err := openTPM(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tpm.Close() })
	key, created, err := loadOrCreateTPMKey(tpm, defaultKeyHandle)
	if err != nil {
		t.Fatal(err)
	}
	return Signer{Key: key, Kind: kindTPM}, created, func() { tpm.Close() }
}

func TestTPMKeyIsCreatedOnceAndFoundAgain(t *testing.T) {
	addr := testenv.Swtpm(t)
	s1, created, closeTPM := tpmKey(t, addr)
	if !created {
		t.Fatal("first run did not create the key")
	}
	f1, _ := s1.Fingerprint()
	closeTPM() // swtpm serves one connection at a time, like one program run
	s2, created, _ := tpmKey(t, addr)
	if created {
		t.Fatal("second run created another key")
	}
	f2, _ := s2.Fingerprint()
	if f1 != f2 || !strings.HasPrefix(f1, "SHA256:") {
		t.Fatalf("fingerprints %s and %s", f1, f2)
	}
}

// TestRealTPM uses the workstation's TPM. Opt-in: KEYCEREMONY_REAL_TPM=/dev/tpmrm0.
// It creates (once) the persistent report key at defaultKeyHandle.
func TestRealTPM(t *testing.T) {
	addr := os.Getenv("KEYCEREMONY_REAL_TPM")
	if addr == "" {
		t.Skip("opt-in: set KEYCEREMONY_REAL_TPM=/dev/tpmrm0 to sign with the real TPM")
	}
	s, _, _ := tpmKey(t, addr)
	if fp, err := s.Fingerprint(); err != nil || !strings.HasPrefix(fp, "SHA256:") {
		t.Fatalf("real TPM key: %v %q", err, fp)
	}
}

func TestOpenRefusesWithoutTPMUnlessSoftwareKeyChosen(t *testing.T) {
	_, _, err := Open(filepath.Join(t.TempDir(), "no-tpm"), "", io.Discard)
	if !errors.Is(err, ErrNoTPM) || !strings.Contains(err.Error(), "software key must be chosen explicitly") {
		t.Fatalf("no TPM: %v", err)
	}
	path := filepath.Join(t.TempDir(), "ws.key")
	var notice strings.Builder
	s, closeFn, err := Open("", path, &notice)
	if err != nil || s.Kind != kindSoftware {
		t.Fatalf("%v %+v", err, s)
	}
	// Made new: the officers hear it, with the fingerprint, and can stop.
	f1, _ := s.Fingerprint()
	if !strings.Contains(notice.String(), "There was no key at "+path+": created a NEW software key there, "+f1) {
		t.Fatalf("notice of a new key: %q", notice.String())
	}
	closeFn()
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("software key mode %v", fi.Mode())
	}
	notice.Reset()
	again, _, _ := Open("", path, &notice)
	f2, _ := again.Fingerprint()
	if f1 != f2 || notice.Len() != 0 {
		t.Fatalf("software key not found again, or said to be new: %q", notice.String())
	}
	addr := testenv.Swtpm(t)
	ts, closeTPM, err := Open(addr, "", io.Discard)
	if err != nil || ts.Kind != kindTPM {
		t.Fatalf("%v", err)
	}
	closeTPM()
}

// A software key file that is not a key is refused with an error that
// says so, and nothing is said of a new key (before, the notice check
// asked a nil key for its fingerprint and panicked).
func TestSoftwareKeyThatIsNotAKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.key")
	os.WriteFile(path, []byte("not a key"), 0o600)
	var notice strings.Builder
	_, _, err := Open("", path, &notice)
	if err == nil || !strings.Contains(err.Error(), "is not PEM") || notice.Len() != 0 {
		t.Fatalf("a file that is not a key: %v, notice %q", err, notice.String())
	}
	b, _ := os.ReadFile(path)
	if string(b) != "not a key" {
		t.Fatal("the file was overwritten")
	}
}

package buildinfo

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// The binary's hash is the SHA-256 of the executable file as sha256sum
// computes it (the officers compare it with the published checksum), and
// a binary with no revision stamped says so, while its report records none.
func TestReadHashesTheExecutable(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	i := Read("1.2.3", "")
	if i.BinarySHA256 != hex.EncodeToString(sum[:]) || i.Version != "1.2.3" || !strings.HasPrefix(i.GoVersion, "go") {
		t.Fatalf("info %+v, want the executable's SHA-256 %x", i, sum)
	}
	if i.Revision != unknownRevision || i.Tool().VCSRevision != "" {
		t.Errorf("no revision stamped: shown %q, recorded %q", i.Revision, i.Tool().VCSRevision)
	}
	if s := Read("1.2.3", "abc123"); s.Revision != "abc123" || s.Tool().VCSRevision != "abc123" || s.Tool().BinarySHA256 != i.BinarySHA256 {
		t.Errorf("stamped revision: %+v", s.Tool())
	}
	var text strings.Builder
	if err := i.WriteText(&text); err != nil || !strings.Contains(text.String(), "binary sha256 "+i.BinarySHA256) {
		t.Errorf("text: %q %v", text.String(), err)
	}
}

package buildinfo

import (
	"strings"
	"testing"
)

// A binary with no revision stamped says so, while the tool its reports
// record carries none; a stamped one carries it in both. (That the hash is
// the running file's own, as sha256sum computes it, is judged through the
// real command line: cmd/keyceremony's TestVersionJSON.)
func TestRevisionShownAndRecorded(t *testing.T) {
	i := Read("1.2.3", "")
	if len(i.BinarySHA256) != 64 || i.Version != "1.2.3" || !strings.HasPrefix(i.GoVersion, "go") {
		t.Fatalf("info %+v", i)
	}
	if i.Revision != unknownRevision || i.Tool().VCSRevision != "" {
		t.Errorf("no revision stamped: shown %q, recorded %q", i.Revision, i.Tool().VCSRevision)
	}
	s := Read("1.2.3", "abc123")
	if tool := s.Tool(); s.Revision != "abc123" || tool.VCSRevision != "abc123" || tool.BinarySHA256 != i.BinarySHA256 || tool.Version != "1.2.3" {
		t.Errorf("stamped revision: %+v", tool)
	}
	var text strings.Builder
	if err := i.WriteText(&text); err != nil || !strings.Contains(text.String(), "binary sha256 "+i.BinarySHA256) {
		t.Errorf("text: %q %v", text.String(), err)
	}
}

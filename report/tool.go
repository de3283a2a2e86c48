package report

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"runtime"
	"runtime/debug"
)

// ToolInfo describes the running keyceremony binary: version, SHA-256 of
// the executable file, Go version, module and VCS revision. revision is the
// one stamped at build time (-ldflags -X, see scripts/build.sh); when empty,
// Go's own VCS stamp from the build information is used.
func ToolInfo(version, revision string) Tool {
	t := Tool{Version: version, GoVersion: runtime.Version(), VCSRevision: revision}
	if exe, err := os.Executable(); err == nil {
		if f, err := os.Open(exe); err == nil {
			h := sha256.New()
			if _, err := io.Copy(h, f); err == nil {
				t.BinarySHA256 = hex.EncodeToString(h.Sum(nil))
			}
			f.Close()
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		t.Module = bi.Main.Path + "@" + bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && t.VCSRevision == "" {
				t.VCSRevision = s.Value
			}
		}
	}
	return t
}

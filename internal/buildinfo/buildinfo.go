package buildinfo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/keyceremony/keyceremony/report"
)

// Info is what this binary is: `keyceremony version --json`, what the
// officers compare with the published checksums before a ceremony.
type Info struct {
	Version      string   `json:"version"`
	Revision     string   `json:"revision"`
	GoVersion    string   `json:"go_version"`
	BinarySHA256 string   `json:"binary_sha256"`
	Module       string   `json:"module,omitempty"`
	Modules      []Module `json:"modules"`
}

// Module is one dependency compiled into the binary, with the go.sum hash
// the Go toolchain checked it against.
type Module struct {
	Path    string `json:"path"`
	Version string `json:"version"`
	Sum     string `json:"sum,omitempty"`
	Replace string `json:"replaced_by,omitempty"`
}

// unknownRevision is the revision of a binary built without one stamped.
const unknownRevision = "unknown (built outside a checkout, or without scripts/build.sh)"

// Read describes the running binary: version, the SHA-256 of the
// executable file, Go version, module, revision and dependencies.
// revision is the one stamped at build time (-ldflags -X, see
// scripts/build.sh); when empty, Go's own VCS stamp is used, and failing
// that the revision says it is unknown. These workstations build with
// GOFLAGS=-buildvcs=false, so Go's stamp is usually absent.
func Read(version, revision string) Info {
	i := Info{Version: version, Revision: revision, GoVersion: runtime.Version(), Modules: []Module{}}
	if exe, err := os.Executable(); err == nil {
		if f, err := os.Open(exe); err == nil {
			h := sha256.New()
			if _, err := io.Copy(h, f); err == nil {
				i.BinarySHA256 = hex.EncodeToString(h.Sum(nil))
			}
			f.Close()
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		i.Module = bi.Main.Path + "@" + bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && i.Revision == "" {
				i.Revision = s.Value
			}
		}
		for _, m := range bi.Deps {
			mod := Module{Path: m.Path, Version: m.Version, Sum: m.Sum}
			if m.Replace != nil {
				mod.Replace = m.Replace.Path + "@" + m.Replace.Version
				mod.Sum = m.Replace.Sum
			}
			i.Modules = append(i.Modules, mod)
		}
	}
	if i.Revision == "" {
		i.Revision = unknownRevision
	}
	return i
}

// Tool is the binary as a signed report records it (no revision when none
// was stamped).
func (i Info) Tool() report.Tool {
	t := report.Tool{
		Version:      i.Version,
		BinarySHA256: i.BinarySHA256,
		GoVersion:    i.GoVersion,
		Module:       i.Module,
		VCSRevision:  i.Revision,
	}
	if t.VCSRevision == unknownRevision {
		t.VCSRevision = ""
	}
	return t
}

// WriteText writes the lines `keyceremony version` prints.
func (i Info) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(
		w,
		"keyceremony %s\nrevision %s\n%s\nbinary sha256 %s\n",
		i.Version,
		i.Revision,
		i.GoVersion,
		i.BinarySHA256,
	)
	return err
}

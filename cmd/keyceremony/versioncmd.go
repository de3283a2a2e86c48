package main

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/keyceremony/keyceremony/internal/cli"
	"github.com/keyceremony/keyceremony/report"
)

// version and revision are stamped at build time by scripts/build.sh:
//
//	-ldflags "-X main.version=… -X main.revision=…"
//
// These workstations build with GOFLAGS=-buildvcs=false, so Go's own VCS
// stamp is usually absent and the -X stamp is what the report records.
var (
	version  = "dev"
	revision = ""
)

// unknownRevision is what version prints when no revision was stamped.
const unknownRevision = "unknown (built outside a checkout, or without scripts/build.sh)"

// versionInfo is `keyceremony version --json`: what the officers compare
// with the published checksums before a ceremony.
type versionInfo struct {
	Version      string       `json:"version"`
	Revision     string       `json:"revision"`
	GoVersion    string       `json:"go_version"`
	BinarySHA256 string       `json:"binary_sha256"`
	Module       string       `json:"module,omitempty"`
	Modules      []moduleHash `json:"modules"`
}

// moduleHash is one dependency compiled into the binary, with the go.sum
// hash the Go toolchain checked it against.
type moduleHash struct {
	Path    string `json:"path"`
	Version string `json:"version"`
	Sum     string `json:"sum,omitempty"`
	Replace string `json:"replaced_by,omitempty"`
}

func cmdVersion(ctx context.Context, fs *cli.Flags, args []string, s cli.IO) error {
	asJSON := fs.Bool("json", false, "print version, revision, Go version, binary SHA-256 and module hashes as JSON")
	if err := fs.NoArgs(args, s); err != nil {
		return err
	}
	tool := report.ToolInfo(version, revision)
	info := versionInfo{Version: tool.Version, Revision: tool.VCSRevision, GoVersion: tool.GoVersion,
		BinarySHA256: tool.BinarySHA256, Module: tool.Module, Modules: []moduleHash{}}
	if info.Revision == "" {
		info.Revision = unknownRevision
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			h := moduleHash{Path: m.Path, Version: m.Version, Sum: m.Sum}
			if m.Replace != nil {
				h.Replace = m.Replace.Path + "@" + m.Replace.Version
				h.Sum = m.Replace.Sum
			}
			info.Modules = append(info.Modules, h)
		}
	}
	if *asJSON {
		return cli.WriteJSON(s.Out, info)
	}
	fmt.Fprintf(s.Out, "keyceremony %s\nrevision %s\n%s\nbinary sha256 %s\n", info.Version, info.Revision, info.GoVersion, info.BinarySHA256)
	return nil
}

package main

import (
	"context"

	"github.com/keyceremony/keyceremony/internal/buildinfo"
	"github.com/keyceremony/keyceremony/internal/cli"
	"github.com/keyceremony/keyceremony/report"
)

// version and revision are stamped at build time by scripts/build.sh:
//
//	-ldflags "-X main.version=… -X main.revision=…"
var (
	version  = "dev"
	revision = ""
)

// tool is this binary as a report records it.
func tool() report.Tool { return buildinfo.Read(version, revision).Tool() }

func cmdVersion(fs *cli.Flags) cli.Run {
	asJSON := fs.Bool("json", false, "print version, revision, Go version, binary SHA-256 and module hashes as JSON")
	return func(ctx context.Context, _ string, s cli.IO) error {
		info := buildinfo.Read(version, revision)
		if *asJSON {
			return cli.WriteJSON(s.Out, info)
		}
		return info.WriteText(s.Out)
	}
}

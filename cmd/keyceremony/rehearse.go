package main

import (
	"context"
	"errors"

	"github.com/keyceremony/keyceremony/internal/cli"
	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
)

// rehearse runs the whole ceremony on virtual keys, the Graph emulator
// and a throw-away signing key (rehearsal.RunSitting); then, withHealth,
// the health check against its report.
func rehearse(withHealth bool) func(*cli.Flags) cli.Run {
	return func(fs *cli.Flags) cli.Run {
		outDir := fs.String("out", "", "write the signed rehearsal report and journal here (default: a new temporary directory)")
		yes := fs.Bool("yes", false, "run headless with scripted officers (default when not on a terminal)")
		nAccounts := fs.Int("accounts", 1, "rehearse a sitting of N break-glass accounts, each with its own two keys (Microsoft advises at least two accounts)")
		generated := fs.Bool("generated-pin", false, "generate the PINs and print each half to its own page (here: OUT/envelopes/*.pdf)")
		tenant := fs.String("tenant", "", "emulate the tenant of this tenant file (keyceremony tenant export writes one)")
		return func(ctx context.Context, _ string, s cli.IO) error {
			if *nAccounts < 1 || *nAccounts > 9 {
				return fs.UsageError("--accounts is 1 to 9, not %d", *nAccounts)
			}
			err := rehearsal.RunSitting(ctx, s.Out, rehearsal.SittingOptions{Dir: *outDir, Accounts: *nAccounts, GeneratedPIN: *generated,
				Health: withHealth, Headless: *yes, Tool: tool(), TenantPath: *tenant})
			if errors.Is(err, rehearsal.ErrFindings) {
				return cli.Finding("%s", err.Error())
			}
			return err
		}
	}
}

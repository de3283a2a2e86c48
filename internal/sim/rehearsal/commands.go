package rehearsal

import (
	"context"
	"errors"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/cli"
	"github.com/keyceremony/keyceremony/internal/sim/emulated"
	"github.com/keyceremony/keyceremony/internal/sim/graphemu"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/report"
)

// Command is the rehearse command's flags and run: the whole ceremony on
// virtual keys, the Graph emulator and a throw-away signing key
// (RunSitting); then, withHealth, the health check against its report.
// tool is the binary the reports name.
func Command(withHealth bool, tool func() report.Tool) func(*cli.Flags) cli.Run {
	return func(fs *cli.Flags) cli.Run {
		outDir := fs.String(
			"out",
			"",
			"write the signed rehearsal report and journal here (default: a new temporary directory)",
		)
		yes := fs.Bool("yes", false, "run headless with scripted officers (default when not on a terminal)")
		nAccounts := fs.Int(
			"accounts",
			1,
			"rehearse a sitting of N break-glass accounts, each with its own two keys (Microsoft advises at least two accounts)",
		)
		generated := fs.Bool(
			"generated-pin",
			false,
			"generate the PINs and print each half to its own page (here: OUT/envelopes/*.pdf)",
		)
		tenant := fs.String(
			"tenant",
			"",
			"emulate the tenant of this tenant file (keyceremony tenant export writes one)",
		)
		return func(ctx context.Context, _ string, s cli.IO) error {
			if *nAccounts < 1 || *nAccounts > 9 {
				return fs.UsageError("--accounts is 1 to 9, not %d", *nAccounts)
			}
			err := RunSitting(ctx, s.Out, SittingOptions{Dir: *outDir, Accounts: *nAccounts, GeneratedPIN: *generated,
				Health: withHealth, Headless: *yes, Tool: tool(), TenantPath: *tenant})
			if errors.Is(err, ErrFindings) {
				return cli.Finding("%s", err.Error())
			}
			return err
		}
	}
}

// SimkeyServe is the simkey serve command's flags and run: a virtual key
// on a SOCK_SEQPACKET socket until interrupted.
func SimkeyServe(fs *cli.Flags) cli.Run {
	sock := fs.String("socket", "", "UNIX SOCK_SEQPACKET socket path to listen on")
	statePath := fs.String("state", "", "keep the key's state (PIN, credentials, counter) in this file across restarts")
	touch := fs.Duration("touch-delay", 300*time.Millisecond, "how long the simulated person takes to touch the key")
	aaguid := fs.String("aaguid", "", "AAGUID to present (default: simkey's own)")
	resetWindow := fs.Duration(
		"reset-window",
		10*time.Second,
		"how long after power-up (start or SIGHUP) the key accepts a reset",
	)
	ctap22 := fs.Bool("ctap22", false, "CTAP 2.2 profile: getInfo 0x16-0x1F, long touch to reset, PIN rules")
	fs.Need("socket")
	return func(ctx context.Context, _ string, s cli.IO) error {
		cfg := simkey.Config{StatePath: *statePath, TouchDelay: *touch, ResetWindow: *resetWindow, CTAP22: *ctap22}
		if *aaguid != "" {
			a, err := ctap.ParseAAGUID(*aaguid)
			if err != nil {
				return cli.UsageError(err)
			}
			cfg.AAGUID = a
		}
		return simkey.ServeSocket(ctx, cfg, *sock, s.Out, s.Err)
	}
}

// GraphEmulator is the graph-emulator command's flags and run: the local
// Graph emulator until interrupted.
func GraphEmulator(fs *cli.Flags) cli.Run {
	listen := fs.String("listen", "127.0.0.1:8443", "loopback address to serve on")
	statePath := fs.String("state", "", "keep the emulated tenant in this file across restarts")
	dir := fs.String("dir", "", "write the CA and the app certificate here (default: a new temporary directory)")
	tenant := fs.String("tenant", "", "serve the tenant of this tenant file (keyceremony tenant export writes one)")
	return func(ctx context.Context, _ string, s cli.IO) error {
		return emulated.Serve(
			ctx,
			emulated.Options{
				Dir:      *dir,
				Emulator: graphemu.Config{StatePath: *statePath, TenantPath: *tenant},
				Listen:   *listen,
			},
			s.Out,
		)
	}
}

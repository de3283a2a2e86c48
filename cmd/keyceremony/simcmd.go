package main

import (
	"context"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/cli"
	"github.com/keyceremony/keyceremony/internal/sim/emulated"
	"github.com/keyceremony/keyceremony/internal/sim/graphemu"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
)

func cmdSimkeyServe(fs *cli.Flags) cli.Run {
	sock := fs.String("socket", "", "UNIX SOCK_SEQPACKET socket path to listen on")
	statePath := fs.String("state", "", "keep the key's state (PIN, credentials, counter) in this file across restarts")
	touch := fs.Duration("touch-delay", 300*time.Millisecond, "how long the simulated person takes to touch the key")
	aaguid := fs.String("aaguid", "", "AAGUID to present (default: simkey's own)")
	resetWindow := fs.Duration("reset-window", 10*time.Second, "how long after power-up (start or SIGHUP) the key accepts a reset")
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

// cmdGraphEmulator serves the local Graph emulator until interrupted.
func cmdGraphEmulator(fs *cli.Flags) cli.Run {
	listen := fs.String("listen", "127.0.0.1:8443", "loopback address to serve on")
	statePath := fs.String("state", "", "keep the emulated tenant in this file across restarts")
	dir := fs.String("dir", "", "write the CA and the app certificate here (default: a new temporary directory)")
	tenant := fs.String("tenant", "", "serve the tenant of this tenant file (keyceremony tenant export writes one)")
	return func(ctx context.Context, _ string, s cli.IO) error {
		return emulated.Serve(ctx, emulated.Options{Dir: *dir, Emulator: graphemu.Config{StatePath: *statePath, TenantPath: *tenant}, Listen: *listen}, s.Out)
	}
}

// cmdTenantExport writes, read only, the tenant as the health check reads it, for rehearse --tenant.
func cmdTenantExport(fs *cli.Flags) cli.Run {
	g, users := cli.GraphFlags(fs), &cli.Strings{}
	fs.Var(users, "user", "a break-glass account (UPN); repeat it for each (rehearse --tenant rehearses the first)")
	out := fs.String("out", "", "write the tenant file here")
	days := fs.Int("days", 30, "export the sign-ins and audit events of the last N days")
	fs.Need("user", "out")
	return func(ctx context.Context, _ string, s cli.IO) error {
		c, err := g.SignIn(ctx, false, s.Err)
		if err != nil {
			return err
		}
		return c.ExportTenant(ctx, *users, time.Now().AddDate(0, 0, -*days), *out, s.Err)
	}
}

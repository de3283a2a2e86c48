package main

import (
	"context"
	"time"

	"github.com/keyceremony/keyceremony/internal/cli"
)

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

package rehearsal

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/keyceremony/keyceremony/health"
	"github.com/keyceremony/keyceremony/internal/monitor"
	"github.com/keyceremony/keyceremony/internal/sim/armemu"
	"github.com/keyceremony/keyceremony/report"
)

// rehearsalToken is the emulated ARM's sign-in: it grants by the roles it
// was given, not by the token.
type rehearsalToken struct{}

func (rehearsalToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "rehearsal", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// monitoring starts the rehearsal's own emulated subscription, monitored
// as Microsoft's page describes (set up by `monitor setup`'s own plan, so
// the rehearsal also rehearses it), with one sign-in of the account before
// the ceremony that raised its alert, and returns the health check's
// monitoring audit over it and the emulator's stop.
func monitoring(ctx context.Context, acct report.Account) (
	func(context.Context, report.Account, time.Time) []health.Check, func(), error) {
	emu := armemu.New(90, armemu.RoleReader, armemu.RoleLogAnalyticsRead, armemu.RoleMonitoringContrib,
		armemu.RoleSecurityAdmin)
	base, hc := emu.Start()
	ep := monitor.Endpoints{ARM: base, Logs: base + "/v1", HTTPClient: hc}
	c, err := monitor.NewClient(rehearsalToken{}, emu.Subscription, ep)
	if err != nil {
		emu.Close()
		return nil, nil, err
	}
	cfg := monitor.SetupConfig{Config: monitor.Config{ResourceGroup: emu.ResourceGroup, Workspace: emu.Workspace,
		Accounts: []monitor.Account{{UPN: acct.UPN, ObjectID: acct.ObjectID}}}, Location: "westeurope",
		Receivers: []monitor.Receiver{{Name: "Rehearsal security operations", Email: "soc@rehearsal.invalid"}}}
	reqs, err := monitor.Plan(ctx, c, cfg)
	if err == nil {
		_, err = monitor.Apply(ctx, c, reqs)
	}
	if err != nil {
		emu.Close()
		return nil, nil, fmt.Errorf("rehearsal monitoring set-up: %w", err)
	}
	emu.SetRoles(armemu.RoleReader, armemu.RoleLogAnalyticsRead) // the health check reads only
	emu.SignIn(
		armemu.SignIn{Time: time.Now().Add(-10 * 24 * time.Hour).UTC().Truncate(time.Second), UserID: acct.ObjectID,
			UPN: acct.UPN, App: "Azure Portal"},
		true,
	)
	return monitor.ForHealth(c, monitor.Config{ResourceGroup: emu.ResourceGroup, Workspace: emu.Workspace,
		HealthInterval: 90 * 24 * time.Hour}), emu.Close, nil
}

package sitting

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/keyceremony/keyceremony/config"
	"github.com/keyceremony/keyceremony/health"
	"github.com/keyceremony/keyceremony/internal/monitor"
	"github.com/keyceremony/keyceremony/officer"
	"github.com/keyceremony/keyceremony/report"
)

// monitoring is the health check's audit of the config's "monitoring"
// block, once signed in (nil without the block).
func (s *Session) monitoring() (func(context.Context, report.Account, time.Time) []health.Check, error) {
	m := s.cfg.Monitoring
	if m == nil {
		return nil, nil
	}
	ep, err := monitor.SettingsEndpoints(m)
	if err != nil {
		return nil, err
	}
	c, err := monitor.NewClient(s.graph.Credential, m.Subscription, ep)
	if err != nil {
		return nil, err
	}
	_, healthEvery, _ := config.LoadIntervals(s.opts.ConfigPath) // Load already judged the intervals
	return monitor.ForHealth(c, monitor.Config{ResourceGroup: m.ResourceGroup, Workspace: m.Workspace,
		HealthInterval: healthEvery}), nil
}

// MonitorSetup signs in and creates, after both officers confirm at the
// terminal (answers read from in), what the config's "monitoring" block
// lacks: Entra's diagnostic setting, the action group and the alert rule
// over every account of the config; then signs, per account, a report of
// the resources written chained to its previous report. dryRun prints the
// ARM requests to out and changes nothing.
func (s *Session) MonitorSetup(ctx context.Context, dryRun bool, in io.Reader, out, notice io.Writer) error {
	m := s.cfg.Monitoring
	if m == nil {
		return errors.New(`the config has no "monitoring" block (subscription, resource_group, workspace, ` +
			"location, receivers; keyceremony config init writes an example)")
	}
	if err := s.signIn(ctx, false, notice); err != nil {
		return err
	}
	var accounts []monitor.Account
	for _, a := range s.accounts {
		u, err := s.graph.GetUser(ctx, a.UPN)
		if err != nil {
			return fmt.Errorf("monitoring set-up: %s: %w", a.UPN, err)
		}
		accounts = append(accounts, monitor.Account{UPN: a.UPN, ObjectID: u.ID})
	}
	ep, err := monitor.SettingsEndpoints(m)
	if err != nil {
		return err
	}
	c, err := monitor.NewClient(s.graph.Credential, m.Subscription, ep)
	if err != nil {
		return err
	}
	cfg := monitor.SetupOf(m, accounts)
	_, healthEvery, _ := config.LoadIntervals(s.opts.ConfigPath) // Load already judged the intervals
	cfg.HealthInterval = healthEvery
	if dryRun {
		reqs, err := monitor.Plan(ctx, c, cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Dry run: %d ARM request(s) would be sent; nothing was changed.\n\n", len(reqs))
		return monitor.WriteRequests(out, reqs)
	}
	started := time.Now().UTC()
	reqs, ids, err := monitor.Setup(ctx, c, cfg, officer.Lines(in, out, false), s.cfg.OfficerA, s.cfg.OfficerB)
	if len(ids) == 0 && err == nil {
		return nil // already set up: nothing to record
	}
	if len(ids) > 0 {
		if werr := s.setupReports(accounts, reqs, ids, started, out); werr != nil {
			return errors.Join(err, werr)
		}
	}
	return err
}

// setupReports signs one monitoring set-up report per account, chained to
// its previous report, listing each resource written.
func (s *Session) setupReports(accounts []monitor.Account, reqs []monitor.Request, ids []string,
	started time.Time, out io.Writer) error {
	for i, a := range s.accounts {
		r := &report.Report{Type: "monitor-setup", CeremonyID: "monitor-setup-" + started.Format("20060102-150405"),
			Started: started, Ended: time.Now().UTC(), Tenant: report.Tenant{ID: s.cfg.TenantID, Domain: s.cfg.Domain},
			Account: report.Account{UPN: a.UPN, ObjectID: accounts[i].ObjectID},
			Officers: []report.Person{
				{Role: "officer-a", Name: s.cfg.OfficerA},
				{Role: "officer-b", Name: s.cfg.OfficerB},
			},
			Workstation: report.Workstation{Hostname: hostname()}, Tool: s.opts.Tool, Keys: []report.Key{}}
		for j, id := range ids {
			r.Steps = append(r.Steps, report.Step{Name: reqs[j].What, Started: started, Ended: r.Ended,
				ConfirmedBy: []string{s.cfg.OfficerA, s.cfg.OfficerB}, Outcome: "done", Detail: id})
		}
		if a.Previous != nil {
			if prev, err := report.Parse(a.Previous); err == nil {
				r.Previous = report.Ref(a.Previous, prev)
			}
		}
		w, err := report.Write(filepath.Join(a.OutDir, r.CeremonyID), r, s.signer)
		if err != nil {
			return fmt.Errorf("monitoring set-up report of %s: %w", a.UPN, err)
		}
		fmt.Fprintf(out, "%s: signed monitoring set-up report in %s (key %s)\n", a.UPN, w.Dir, w.Fingerprint)
	}
	return nil
}

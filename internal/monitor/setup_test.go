package monitor

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/internal/sim/armemu"
	"github.com/keyceremony/keyceremony/officer"
)

// officers answers confirmations: refuse names the officer who says no.
type officers struct {
	refuse string
	shown  []string
	asked  []string
}

func (o *officers) Instruct(_ context.Context, in officer.Instruction) error {
	o.shown = append(o.shown, in.Text)
	return nil
}
func (o *officers) Confirm(_ context.Context, who, _ string) error {
	o.asked = append(o.asked, who)
	if who == o.refuse {
		return officer.ErrAbandoned
	}
	return nil
}
func (o *officers) PINHalf(context.Context, int, string, bool) ([]byte, error) {
	return nil, errors.New("no PIN here")
}
func (o *officers) Touch(int)               {}
func (o *officers) Progress(string, string) {}

// emptySubscription is a subscription with only the workspace, the
// signed-in officer holding the set-up's roles and the audit's.
func emptySubscription(t *testing.T) (*scene, SetupConfig) {
	t.Helper()
	s := newScene(t)
	s.emu.SetRoles(armemu.RoleReader, armemu.RoleLogAnalyticsRead, armemu.RoleMonitoringContrib, armemu.RoleSecurityAdmin)
	return s, SetupConfig{Config: s.cfg, Location: "westeurope",
		Receivers: []Receiver{{Name: "Security operations", Email: "soc@contoso.com"}}}
}

func TestSetupOnEmptySubscriptionThenAuditPasses(t *testing.T) {
	s, cfg := emptySubscription(t)
	ctx := context.Background()
	o := &officers{}
	reqs, ids, err := Setup(ctx, s.client, cfg, o, "Alice Example", "Bob Example")
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 3 || len(ids) != 3 || len(s.emu.Writes()) != 3 {
		t.Fatalf("%d requests, %d IDs, writes %v; want the diagnostic setting, the action group and the rule", len(reqs), len(ids), s.emu.Writes())
	}
	if strings.Join(o.asked, ",") != "Alice Example,Bob Example" || !strings.Contains(o.shown[0], "log search alert rule") {
		t.Errorf("asked %v, shown %q", o.asked, o.shown)
	}
	// A sign-in of each account after set-up: the emulator's rule fires.
	s.emu.SignIn(armemu.SignIn{Time: now.Add(-2 * time.Hour), UserID: idA}, true)
	s.emu.SignIn(armemu.SignIn{Time: now.Add(-time.Hour), UserID: idB}, true)
	checks := Audit(ctx, s.client, s.cfg)
	for _, c := range checks {
		if strings.HasPrefix(c.Name, "workspace sign-ins") {
			if c.Status != Finding { // the two sign-ins are since the last report: to be explained
				t.Errorf("%s: %s, want a finding", c.Name, c.Status)
			}
			continue
		}
		if c.Status != Pass {
			t.Errorf("after setup: %s %s: %s", c.Name, c.Status, c.Detail)
		}
	}
	if len(checks) != 10 {
		t.Errorf("%d checks, want 10", len(checks))
	}
	// Twice: idempotent, nothing planned, nothing written, nobody asked.
	o2 := &officers{}
	reqs, ids, err = Setup(ctx, s.client, cfg, o2, "Alice Example", "Bob Example")
	if err != nil || len(reqs) != 0 || len(ids) != 0 || len(s.emu.Writes()) != 3 || len(o2.asked) != 0 {
		t.Errorf("second setup: %d requests, %v, writes %v, asked %v", len(reqs), err, s.emu.Writes(), o2.asked)
	}
}

func TestSetupRefusedByOneOfficerCreatesNothing(t *testing.T) {
	for _, who := range []string{"Alice Example", "Bob Example"} {
		s, cfg := emptySubscription(t)
		_, ids, err := Setup(context.Background(), s.client, cfg, &officers{refuse: who}, "Alice Example", "Bob Example")
		if !errors.Is(err, officer.ErrAbandoned) || !strings.Contains(err.Error(), who) || len(ids) != 0 {
			t.Errorf("%s refuses: ids %v, err %v", who, ids, err)
		}
		if w := s.emu.Writes(); len(w) != 0 {
			t.Errorf("%s refused, yet ARM saw writes %v", who, w)
		}
	}
}

// A setting that sends only AuditLogs to the workspace is completed (its
// name and its category kept), not duplicated.
func TestSetupCompletesDiagnosticSetting(t *testing.T) {
	s, cfg := emptySubscription(t)
	s.emu.Put("diagnosticSettings", "existing", `{"name": "existing", "properties": {"workspaceId": "`+s.emu.WorkspaceID()+
		`", "logs": [{"category": "AuditLogs", "enabled": true}, {"category": "RiskyUsers", "enabled": true}]}}`)
	reqs, err := Plan(context.Background(), s.client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if reqs[0].Path != "/providers/microsoft.aadiam/diagnosticSettings/existing" ||
		!strings.Contains(reqs[0].Body(), "RiskyUsers") || !strings.Contains(reqs[0].What, "SignInLogs, NonInteractiveUserSignInLogs") ||
		strings.Contains(reqs[0].What, "AuditLogs") {
		t.Errorf("plan %q %q %s", reqs[0].Path, reqs[0].What, reqs[0].Body())
	}
}

func TestSetupDryRunPrintsRequests(t *testing.T) {
	s, cfg := emptySubscription(t)
	reqs, err := Plan(context.Background(), s.client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteRequests(&out, reqs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"PUT /providers/microsoft.aadiam/diagnosticSettings/keyceremony-breakglass?api-version=2017-04-01",
		"/providers/microsoft.insights/actionGroups/breakglass-signin-alerts?api-version=2024-10-01-preview",
		"/providers/Microsoft.Insights/scheduledQueryRules/breakglass-signin?api-version=2025-01-01-preview",
		`UserId == \"` + idA + `\" or UserId == \"` + idB + `\"`, `"evaluationFrequency": "PT5M"`, `"threshold": 0`,
		"soc@contoso.com",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run lacks %q:\n%s", want, out.String())
		}
	}
	if len(s.emu.Writes()) != 0 {
		t.Errorf("a dry run wrote %v", s.emu.Writes())
	}
}

func TestSetupWithoutWriteRoleStops(t *testing.T) {
	s, cfg := emptySubscription(t)
	s.emu.SetRoles(armemu.RoleReader, armemu.RoleLogAnalyticsRead, armemu.RoleMonitoringContrib)
	_, ids, err := Setup(context.Background(), s.client, cfg, &officers{}, "A", "B")
	if err == nil || !strings.Contains(err.Error(), "AuthorizationFailed") || len(ids) != 0 {
		t.Errorf("without Security Administrator: ids %v, err %v", ids, err)
	}
}

func TestSetupRefusesBadConfig(t *testing.T) {
	s, cfg := emptySubscription(t)
	cfg.Receivers = nil
	if _, err := Plan(context.Background(), s.client, cfg); err == nil || !strings.Contains(err.Error(), "monitoring.receivers") {
		t.Errorf("no receivers: %v", err)
	}
	_, cfg = emptySubscription(t)
	cfg.Accounts = []Account{{"x@contoso.onmicrosoft.com", `" or true or "`}}
	if _, err := Plan(context.Background(), s.client, cfg); err == nil || !strings.Contains(err.Error(), "not a GUID") {
		t.Errorf("object ID that would change the query: %v", err)
	}
}

// A workspace that keeps logs 30 days, shorter than the 90-day health
// interval: the set-up raises its retention through Workspaces_CreateOrUpdate,
// a long-running operation polled to its end, then the audit's retention
// check passes; without Log Analytics Contributor it stops with the 403.
func TestSetupRaisesRetentionThroughALongRunningOperation(t *testing.T) {
	s := newSceneWithRetention(t, 30)
	s.emu.SetRoles(armemu.RoleReader, armemu.RoleLogAnalyticsRead, armemu.RoleMonitoringContrib, armemu.RoleSecurityAdmin,
		armemu.RoleLogAnalyticsWrite)
	cfg := SetupConfig{Config: s.cfg, Location: "westeurope", Receivers: []Receiver{{Name: "SOC", Email: "soc@contoso.com"}}}
	reqs, ids, err := Setup(context.Background(), s.client, cfg, &officers{}, "A", "B")
	if err != nil || len(reqs) != 4 || len(ids) != 4 {
		t.Fatalf("setup: %d requests, ids %v, %v", len(reqs), ids, err)
	}
	if !strings.Contains(reqs[1].What, "keep logs 90 days (the health interval), not 30") || !reqs[1].lro {
		t.Errorf("retention request %+v", reqs[1])
	}
	want(t, Audit(context.Background(), s.client, s.cfg), retention, Pass, "keeps logs 90 days")
	if again, err := Plan(context.Background(), s.client, cfg); err != nil || len(again) != 0 {
		t.Errorf("second plan %v %v", again, err)
	}

	s = newSceneWithRetention(t, 30)
	s.emu.SetRoles(armemu.RoleReader, armemu.RoleLogAnalyticsRead, armemu.RoleMonitoringContrib, armemu.RoleSecurityAdmin)
	cfg.Config = s.cfg
	_, ids, err = Setup(context.Background(), s.client, cfg, &officers{}, "A", "B")
	if err == nil || !strings.Contains(err.Error(), "AuthorizationFailed") || len(ids) != 1 {
		t.Errorf("without Log Analytics Contributor: ids %v, %v", ids, err)
	}
}

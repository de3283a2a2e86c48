package monitor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/keyceremony/keyceremony/internal/sim/armemu"
)

// fakeCred hands out a bearer token the emulator accepts (it checks roles
// it was given, not tokens).
type fakeCred struct{}

func (fakeCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "emulated", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

const (
	idA = "00aa00aa-bb11-cc22-dd33-44ee44ee44ee" // Microsoft's sample object IDs (security-emergency-access.md)
	idB = "11bb11bb-cc22-dd33-ee44-55ff55ff55ff"
)

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// scene is an emulated subscription monitored as Microsoft's page
// describes (MicrosoftDocs/entra-docs, docs/identity/role-based-access-
// control/security-emergency-access.md, "Create an alert rule", "Create an
// action group"); each test breaks one part of it.
type scene struct {
	emu      *armemu.Emulator
	client   *Client
	cfg      Config
	diagLogs []string
	ruleOn   bool
	freq     string
	query    string
	groups   string
	agOn     bool
	rcvState string
}

func newScene(t *testing.T) *scene {
	t.Helper()
	s := &scene{
		emu:      armemu.New(90, armemu.RoleReader, armemu.RoleLogAnalyticsRead),
		diagLogs: categories, ruleOn: true, freq: "PT5M", agOn: true, rcvState: "Enabled",
		query: fmt.Sprintf("// Search for multiple Object IDs (UserIds)\nSigninLogs\n| project UserId \n"+
			"| where UserId == %q or UserId == %q", idA, idB),
	}
	s.groups = fmt.Sprintf(`["/subscriptions/%s/resourceGroups/%s/providers/microsoft.insights/actionGroups/breakglass-ag"]`,
		s.emu.Subscription, s.emu.ResourceGroup)
	s.cfg = Config{ResourceGroup: s.emu.ResourceGroup, Workspace: s.emu.Workspace,
		Accounts:       []Account{{"breakglass1@contoso.onmicrosoft.com", idA}, {"breakglass2@contoso.onmicrosoft.com", idB}},
		HealthInterval: 90 * 24 * time.Hour, Since: now.Add(-20 * 24 * time.Hour), Now: func() time.Time { return now }}
	base, hc := s.emu.Start()
	t.Cleanup(s.emu.Close)
	c, err := NewClient(fakeCred{}, s.emu.Subscription, Endpoints{ARM: base, Logs: base + "/v1", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	s.client = c
	return s
}

// build stores the scene's resources and two sign-ins (one per account,
// each before the last report, so a rule can be proven and no alert is due).
func (s *scene) build() {
	var logs []string
	for _, c := range s.diagLogs {
		logs = append(logs, fmt.Sprintf(`{"category": %q, "enabled": true}`, c))
	}
	// Shape: azure-rest-api-specs, specification/azureactivedirectory/resource-manager/
	// Microsoft.Aadiam/stable/2017-04-01/examples/getDiagnosticSetting.json.
	s.emu.Put("diagnosticSettings", "breakglass", fmt.Sprintf(`{"id": "providers/microsoft.aadiam/diagnosticSettings/breakglass",
		"name": "breakglass", "type": "", "properties": {"workspaceId": %q, "logs": [%s]}}`,
		s.emu.WorkspaceID(), strings.Join(logs, ",")))
	// Shape: armmonitor ActionGroupResource (emailReceivers with status).
	s.emu.Put("actionGroups", "breakglass-ag", fmt.Sprintf(`{"id": "/subscriptions/%s/resourceGroups/%s/providers/`+
		`microsoft.insights/actionGroups/breakglass-ag", "name": "breakglass-ag", "location": "Global",
		"properties": {"groupShortName": "breakglass", "enabled": %v, "emailReceivers": [
		{"name": "Notify Global Administrator", "emailAddress": "soc@contoso.com", "status": %q}]}}`,
		s.emu.Subscription, s.emu.ResourceGroup, s.agOn, s.rcvState))
	// Shape: azure-rest-api-specs, specification/monitor/resource-manager/Microsoft.Insights/
	// stable/2023-12-01/examples/getScheduledQueryRule.json, with the alert logic Microsoft's
	// page gives (number of results greater than 0).
	s.emu.Put("scheduledQueryRules", "breakglass-signin", fmt.Sprintf(`{"id": "/subscriptions/%s/resourcegroups/%s/`+
		`providers/microsoft.insights/scheduledqueryrules/breakglass-signin", "name": "breakglass-signin",
		"type": "microsoft.insights/scheduledqueryrules", "location": "westeurope", "properties": {
		"severity": 0, "enabled": %v, "evaluationFrequency": %q, "windowSize": "PT5M", "scopes": [%q],
		"criteria": {"allOf": [{"query": %q, "timeAggregation": "Count", "operator": "GreaterThan", "threshold": 0,
		"failingPeriods": {"numberOfEvaluationPeriods": 1, "minFailingPeriodsToAlert": 1}}]},
		"actions": {"actionGroups": %s}}}`,
		s.emu.Subscription, s.emu.ResourceGroup, s.ruleOn, s.freq, s.emu.WorkspaceID(), s.query, s.groups))
	// Two unrelated rules first, so the list is paged (two per page) and the
	// good rule is on the second page.
	for _, n := range []string{"aaa-cpu", "aab-disk"} {
		s.emu.Put("scheduledQueryRules", n, fmt.Sprintf(`{"id": "/subscriptions/%s/resourcegroups/%s/providers/`+
			`microsoft.insights/scheduledqueryrules/%s", "name": %q, "properties": {"enabled": true,
			"evaluationFrequency": "PT5M", "scopes": ["/subscriptions/%s/resourceGroups/x/providers/Microsoft.Compute/virtualMachines/vm1"],
			"criteria": {"allOf": [{"query": "Perf | where ObjectName == \"Processor\"", "operator": "GreaterThan", "threshold": 70}]}}}`,
			s.emu.Subscription, s.emu.ResourceGroup, n, n, s.emu.Subscription))
	}
	s.emu.SignIn(armemu.SignIn{Time: now.Add(-40 * 24 * time.Hour), UserID: idA, UPN: "breakglass1@contoso.onmicrosoft.com"}, true)
	s.emu.SignIn(armemu.SignIn{Time: now.Add(-39 * 24 * time.Hour), UserID: idB, UPN: "breakglass2@contoso.onmicrosoft.com"}, true)
}

func (s *scene) audit(t *testing.T) []Check {
	t.Helper()
	checks := Audit(context.Background(), s.client, s.cfg)
	for _, c := range checks {
		t.Logf("%-16s %-44s %s", c.Status, c.Name, c.Detail)
	}
	return checks
}

// want asserts the check named name has status and its detail contains
// every fragment.
func want(t *testing.T, checks []Check, name, status string, fragments ...string) {
	t.Helper()
	for _, c := range checks {
		if c.Name != name {
			continue
		}
		if c.Status != status {
			t.Errorf("%s: status %s, want %s (%s)", name, c.Status, status, c.Detail)
		}
		for _, f := range fragments {
			if !strings.Contains(c.Detail, f) {
				t.Errorf("%s: detail %q lacks %q", name, c.Detail, f)
			}
		}
		return
	}
	t.Errorf("no check %q", name)
}

const (
	diagCheck = "Entra diagnostic setting"
	retention = "log retention"
	ruleA     = "alert rule breakglass1@contoso.onmicrosoft.com"
	ruleB     = "alert rule breakglass2@contoso.onmicrosoft.com"
	firedA    = "alert fired breakglass1@contoso.onmicrosoft.com"
)

func TestAuditAllGood(t *testing.T) {
	s := newScene(t)
	s.build()
	checks := s.audit(t)
	for _, c := range checks {
		if c.Status != Pass {
			t.Errorf("%s: %s (%s), want pass", c.Name, c.Status, c.Detail)
		}
	}
	if len(checks) != 10 {
		t.Errorf("%d checks, want 10 (diagnostic setting, retention; workspace sign-ins and audit log, rule and fired per account)", len(checks))
	}
	want(t, checks, ruleA, Pass, `"breakglass-signin"`)
}

func TestAuditNoDiagnosticSetting(t *testing.T) {
	s := newScene(t)
	s.build()
	// The setting is replaced by one to another workspace.
	s.emu.Put("diagnosticSettings", "breakglass", `{"name": "breakglass", "properties": {"workspaceId": "/subscriptions/x/`+
		`resourceGroups/y/providers/Microsoft.OperationalInsights/workspaces/other", "logs": [{"category": "SignInLogs", "enabled": true}]}}`)
	want(t, s.audit(t), diagCheck, Finding, "no Entra diagnostic setting sends the sign-in logs")
}

func TestAuditSettingWithoutSignInLogs(t *testing.T) {
	s := newScene(t)
	s.diagLogs = []string{"AuditLogs", "NonInteractiveUserSignInLogs"}
	s.build()
	want(t, s.audit(t), diagCheck, Finding, `"breakglass" does not send SignInLogs`)
}

func TestAuditRuleDisabled(t *testing.T) {
	s := newScene(t)
	s.ruleOn = false
	s.build()
	checks := s.audit(t)
	want(t, checks, ruleA, Finding, `rule "breakglass-signin": disabled`)
	want(t, checks, ruleB, Finding, "disabled")
}

func TestAuditRuleTooSlow(t *testing.T) {
	s := newScene(t)
	s.freq = "PT1H"
	s.build()
	want(t, s.audit(t), ruleA, Finding, "evaluated every 1h0m0s")
}

func TestAuditRuleOnAnotherAccount(t *testing.T) {
	s := newScene(t)
	s.query = fmt.Sprintf("SigninLogs\n| project UserId\n| where UserId == %q", idB)
	s.build()
	checks := s.audit(t)
	want(t, checks, ruleA, Finding, "its query does not select the account's sign-in at "+now.Add(-40*24*time.Hour).Format(time.RFC3339))
	want(t, checks, ruleB, Pass)
}

func TestAuditRuleInListAndCount(t *testing.T) {
	s := newScene(t)
	s.query = fmt.Sprintf("SigninLogs | where UserId in (%q, %q) | summarize count()", idA, idB)
	s.build()
	checks := s.audit(t)
	want(t, checks, ruleA, Pass)
	want(t, checks, ruleB, Pass)
}

func TestAuditRuleWithoutActionGroup(t *testing.T) {
	s := newScene(t)
	s.groups = "[]"
	s.build()
	want(t, s.audit(t), ruleA, Finding, "notifies no action group")
}

func TestAuditDisabledReceiver(t *testing.T) {
	s := newScene(t)
	s.rcvState = "Disabled"
	s.build()
	want(t, s.audit(t), ruleA, Finding, "action group breakglass-ag has no enabled receiver")
}

func TestAuditActionGroupDisabled(t *testing.T) {
	s := newScene(t)
	s.agOn = false
	s.build()
	want(t, s.audit(t), ruleA, Finding, "action group breakglass-ag is disabled")
}

func TestAuditRetentionShorterThanHealthInterval(t *testing.T) {
	s2 := newSceneWithRetention(t, 30)
	s2.build()
	want(t, s2.audit(t), retention, Finding, "keeps logs 30 days, shorter than the health interval (90 days)")
}

func newSceneWithRetention(t *testing.T, days int) *scene {
	t.Helper()
	s := newScene(t)
	emu := armemu.New(days, armemu.RoleReader, armemu.RoleLogAnalyticsRead)
	base, hc := emu.Start()
	t.Cleanup(emu.Close)
	c, err := NewClient(fakeCred{}, emu.Subscription, Endpoints{ARM: base, Logs: base + "/v1", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	s.emu, s.client = emu, c
	return s
}

func TestAuditSignInWithoutAlert(t *testing.T) {
	s := newScene(t)
	s.build()
	at := now.Add(-3 * 24 * time.Hour)
	s.emu.SignIn(armemu.SignIn{Time: at, UserID: idA}, false)
	checks := s.audit(t)
	want(t, checks, firedA, Finding, "the alert did not fire for the sign-in at "+at.Format(time.RFC3339))
	want(t, checks, "workspace sign-ins breakglass1@contoso.onmicrosoft.com", Finding, "1 sign-in(s) since the last report", at.Format(time.RFC3339))
	want(t, checks, "workspace sign-ins breakglass2@contoso.onmicrosoft.com", Pass)
}

func TestAuditSignInWithAlert(t *testing.T) {
	s := newScene(t)
	s.build()
	s.emu.SignIn(armemu.SignIn{Time: now.Add(-3 * 24 * time.Hour), UserID: idA}, true)
	want(t, s.audit(t), firedA, Pass, "fired for each of the 1 sign-ins")
}

func TestAuditNoSignInToProve(t *testing.T) {
	s := newSceneWithRetention(t, 90)
	s.build()
	s.cfg.Accounts = append(s.cfg.Accounts, Account{"breakglass3@contoso.onmicrosoft.com", "22cc22cc-dd33-ee44-ff55-66aa66aa66aa"})
	want(t, s.audit(t), "alert rule breakglass3@contoso.onmicrosoft.com", CouldNot, "no sign-in of breakglass3@contoso.onmicrosoft.com")
}

func TestAuditQueryTheEmulatorCannotRun(t *testing.T) {
	s := newScene(t)
	s.query = fmt.Sprintf("SigninLogs | where UserId == %q | extend x = 1", idA)
	s.build()
	want(t, s.audit(t), ruleA, CouldNot, "its query could not be run")
}

func TestAuditWithoutRoles(t *testing.T) {
	s := newScene(t)
	s.build()
	s.emu.SetRoles(armemu.RoleReader)
	checks := s.audit(t)
	want(t, checks, diagCheck, Pass)
	want(t, checks, ruleA, CouldNot, "needs the Log Analytics Reader role")
	s.emu.SetRoles()
	checks = s.audit(t)
	want(t, checks, diagCheck, CouldNot, "AuthorizationFailed", "Reader")
	want(t, checks, retention, CouldNot, "needs the Reader role")
	want(t, checks, "alert rule", CouldNot, "Reader")
}

// A directory change to the account after the last report, kept in the
// workspace's AuditLogs (its shape: Azure Monitor Logs reference,
// "AuditLogs"), is a finding; one before it, or to another account, is not.
func TestAuditWorkspaceAuditLog(t *testing.T) {
	s := newScene(t)
	s.build()
	at := now.Add(-45 * 24 * time.Hour) // past Graph's 30 days, after the last report
	s.cfg.Since = now.Add(-60 * 24 * time.Hour)
	s.emu.Audit(armemu.AuditEvent{Time: at, OperationName: "Reset user password", Category: "UserManagement", Result: "success",
		TargetResources: `[{"id": "` + idA + `", "type": "User"}]`})
	s.emu.Audit(armemu.AuditEvent{Time: now.Add(-90 * 24 * time.Hour), OperationName: "Update user", Result: "success",
		TargetResources: `[{"id": "` + idA + `"}]`})
	checks := s.audit(t)
	want(t, checks, "workspace audit log breakglass1@contoso.onmicrosoft.com", Finding, "1 directory change(s)", `"Reset user password"`,
		at.Format(time.RFC3339))
	want(t, checks, "workspace audit log breakglass2@contoso.onmicrosoft.com", Pass)
}

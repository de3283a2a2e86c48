package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"
	"github.com/google/uuid"

	"github.com/keyceremony/keyceremony/config"
	"github.com/keyceremony/keyceremony/officer"
)

// Receiver is one person the action group notifies by e-mail (the config's).
type Receiver = config.Receiver

// SetupConfig is what `monitor setup` creates, beside Config's workspace
// and accounts.
type SetupConfig struct {
	Config
	Location          string // the alert rule's region: the workspace's
	Receivers         []Receiver
	ActionGroup       string // default "breakglass-signin-alerts"
	Rule              string // default "breakglass-signin"
	DiagnosticSetting string // default "keyceremony-breakglass"
}

func (s *SetupConfig) defaults() error {
	if s.ActionGroup == "" {
		s.ActionGroup = "breakglass-signin-alerts"
	}
	if s.Rule == "" {
		s.Rule = "breakglass-signin"
	}
	if s.DiagnosticSetting == "" {
		s.DiagnosticSetting = "keyceremony-breakglass"
	}
	switch {
	case s.ResourceGroup == "" || s.Workspace == "":
		return errors.New("monitoring setup needs monitoring.resource_group and monitoring.workspace")
	case s.Location == "":
		return errors.New("monitoring setup needs monitoring.location (the workspace's region)")
	case len(s.Receivers) == 0:
		return errors.New("monitoring setup needs at least one receiver (monitoring.receivers) to notify")
	case len(s.Accounts) == 0:
		return errors.New("monitoring setup needs the break-glass accounts' object IDs")
	}
	for _, a := range s.Accounts {
		if !isGUID(a.ObjectID) {
			return fmt.Errorf("monitoring setup: account %s: object ID %q is not a GUID", a.UPN, a.ObjectID)
		}
	}
	for _, r := range s.Receivers {
		if r.Name == "" || !strings.Contains(r.Email, "@") {
			return fmt.Errorf("monitoring setup: receiver %q <%s>: needs a name and an e-mail address", r.Name, r.Email)
		}
	}
	return nil
}

// isGUID says whether s is a GUID in its 8-4-4-4-12 hexadecimal form
// (uuid.Validate takes other forms too, all of other lengths).
func isGUID(s string) bool { return len(s) == 36 && uuid.Validate(s) == nil }

// Request is one ARM write the set-up makes: shown to the officers, printed
// by --dry-run, sent by Apply.
type Request struct {
	Method     string
	Path       string // the resource ID
	APIVersion string
	What       string // a sentence for the officers
	body       any
	lro        bool // ARM answers 202 and an operation to poll
}

// Body is the request's JSON body.
func (r Request) Body() string { return decode(r.body) }

// Write prints the requests as ARM receives them.
func WriteRequests(w io.Writer, reqs []Request) error {
	for _, r := range reqs {
		_, err := fmt.Fprintf(w, "%s %s?api-version=%s\n%s\n\n", r.Method, r.Path, r.APIVersion, r.Body())
		if err != nil {
			return err
		}
	}
	return nil
}

// ruleQuery is Microsoft's sample query for several object IDs
// (security-emergency-access.md, "Create an alert rule": `SigninLogs |
// project UserId | where UserId == "…" or UserId == "…"`).
func ruleQuery(accounts []Account) string {
	var terms []string
	for _, a := range accounts {
		terms = append(terms, fmt.Sprintf("UserId == %q", strings.ToLower(a.ObjectID)))
	}
	return "SigninLogs\n| project UserId\n| where " + strings.Join(terms, " or ")
}

// Plan reads what exists and returns the writes that make it what
// Microsoft's page describes; none when it already is (a second run).
func Plan(ctx context.Context, c *Client, cfg SetupConfig) ([]Request, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	wsID := cfg.workspaceID(c.subscription)
	var reqs []Request
	diag, err := c.planDiagnostic(ctx, cfg, wsID)
	if err != nil {
		return nil, err
	}
	reqs = append(reqs, diag...)
	ret, err := c.planRetention(ctx, cfg, wsID)
	if err != nil {
		return nil, err
	}
	reqs = append(reqs, ret...)
	agID := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/microsoft.insights/actionGroups/%s",
		c.subscription, cfg.ResourceGroup, cfg.ActionGroup)
	ag, err := c.planActionGroup(ctx, cfg, agID)
	if err != nil {
		return nil, err
	}
	reqs = append(reqs, ag...)
	rule, err := c.planRule(ctx, cfg, wsID, agID)
	if err != nil {
		return nil, err
	}
	return append(reqs, rule...), nil
}

func notFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// planDiagnostic completes the diagnostic setting that already sends to the
// workspace (keeping its other categories) or creates one (body as in
// azure-rest-api-specs, specification/azureactivedirectory/resource-manager/
// Microsoft.Aadiam/stable/2017-04-01/examples/createOrUpdateDiagnosticSetting.json).
func (c *Client) planDiagnostic(ctx context.Context, cfg SetupConfig, wsID string) ([]Request, error) {
	all, err := c.diagnosticSettings(ctx)
	if err != nil {
		return nil, err
	}
	name := cfg.DiagnosticSetting
	var logs []map[string]any
	for _, d := range all {
		if strings.EqualFold(d.Properties.WorkspaceID, wsID) {
			name = d.Name
			for _, l := range d.Properties.Logs {
				logs = append(logs, map[string]any{"category": l.Category, "enabled": l.Enabled})
			}
			break
		}
	}
	var added []string
	for _, cat := range categories {
		i := slices.IndexFunc(
			logs,
			func(l map[string]any) bool { return strings.EqualFold(l["category"].(string), cat) },
		)
		switch {
		case i < 0:
			logs = append(logs, map[string]any{"category": cat, "enabled": true})
			added = append(added, cat)
		case logs[i]["enabled"] != true:
			logs[i]["enabled"] = true
			added = append(added, cat)
		}
	}
	if len(added) == 0 {
		return nil, nil
	}
	return []Request{{Method: http.MethodPut, Path: "/providers/microsoft.aadiam/diagnosticSettings/" + name,
		APIVersion: aadiamAPI, What: fmt.Sprintf("Entra diagnostic setting %q: send %s to workspace %s",
			name, strings.Join(added, ", "), cfg.Workspace),
		body: map[string]any{"properties": map[string]any{"workspaceId": wsID, "logs": logs}}}}, nil
}

// planRetention raises the workspace's retention to the health interval
// when it is shorter (Workspaces_CreateOrUpdate: the workspace as read,
// retentionInDays changed; a long-running operation).
func (c *Client) planRetention(ctx context.Context, cfg SetupConfig, wsID string) ([]Request, error) {
	need := int((cfg.HealthInterval + 24*time.Hour - 1) / (24 * time.Hour))
	if need == 0 {
		return nil, nil
	}
	var ws map[string]any
	if err := c.do(ctx, http.MethodGet, wsID, workspaceAPI, nil, nil, &ws); err != nil {
		return nil, fmt.Errorf("workspace %s: %w", cfg.Workspace, err)
	}
	props, _ := ws["properties"].(map[string]any)
	days, _ := props["retentionInDays"].(float64)
	if int(days) >= need {
		return nil, nil
	}
	body := map[string]any{"location": ws["location"],
		"properties": map[string]any{"sku": props["sku"], "retentionInDays": need}}
	return []Request{{Method: http.MethodPut, Path: wsID, APIVersion: workspaceAPI, lro: true, body: body,
		What: fmt.Sprintf("workspace %q: keep logs %d days (the health interval), not %d",
			cfg.Workspace, need, int(days))}}, nil
}

// planActionGroup creates or completes the action group with an e-mail
// receiver per configured person (Microsoft's page, "Create an action
// group": action type Email/SMS/Push/Voice).
func (c *Client) planActionGroup(ctx context.Context, cfg SetupConfig, agID string) ([]Request, error) {
	want := armmonitor.ActionGroupResource{Location: ptr("Global"), Properties: &armmonitor.ActionGroup{
		Enabled: ptr(true), GroupShortName: ptr("breakglass")}}
	for _, r := range cfg.Receivers {
		want.Properties.EmailReceivers = append(want.Properties.EmailReceivers,
			&armmonitor.EmailReceiver{Name: ptr(r.Name), EmailAddress: ptr(r.Email), UseCommonAlertSchema: ptr(true)})
	}
	got, err := c.groups.Get(ctx, cfg.ResourceGroup, cfg.ActionGroup, nil)
	switch {
	case notFound(err):
	case err != nil:
		return nil, fmt.Errorf("action group %s: %w", cfg.ActionGroup, err)
	case got.Properties != nil && got.Properties.Enabled != nil && *got.Properties.Enabled:
		missing := false
		for _, r := range cfg.Receivers {
			if !slices.ContainsFunc(got.Properties.EmailReceivers, func(e *armmonitor.EmailReceiver) bool {
				return e != nil && strings.EqualFold(str(e.EmailAddress), r.Email) &&
					(e.Status == nil || *e.Status == armmonitor.ReceiverStatusEnabled)
			}) {
				missing = true
			}
		}
		if !missing {
			return nil, nil
		}
		// Keep the receivers someone else added; add ours.
		for _, e := range got.Properties.EmailReceivers {
			ours := func(r Receiver) bool { return e != nil && strings.EqualFold(r.Email, str(e.EmailAddress)) }
			if e != nil && !slices.ContainsFunc(cfg.Receivers, ours) {
				want.Properties.EmailReceivers = append(want.Properties.EmailReceivers, &armmonitor.EmailReceiver{
					Name: e.Name, EmailAddress: e.EmailAddress, UseCommonAlertSchema: e.UseCommonAlertSchema})
			}
		}
	}
	var to []string
	for _, r := range cfg.Receivers {
		to = append(to, r.Email)
	}
	return []Request{{Method: http.MethodPut, Path: agID, APIVersion: "2024-10-01-preview", body: want,
		What: fmt.Sprintf("action group %q: enabled, e-mail to %s", cfg.ActionGroup, strings.Join(to, ", "))}}, nil
}

// planRule creates the log search alert rule Microsoft's page describes:
// the accounts' sign-ins, every 5 minutes over 5 minutes, number of results
// greater than 0, severity 0 (Critical), enabled, notifying the group.
func (c *Client) planRule(ctx context.Context, cfg SetupConfig, wsID, agID string) ([]Request, error) {
	query := ruleQuery(cfg.Accounts)
	want := armmonitor.ScheduledQueryRuleResource{Location: ptr(cfg.Location), Kind: ptr(armmonitor.KindLogAlert),
		Properties: &armmonitor.ScheduledQueryRuleProperties{
			DisplayName: ptr("Break-glass account sign-in"),
			Description: ptr("A sign-in of a break-glass account (keyceremony monitor setup)"),
			Severity:    ptr(armmonitor.AlertSeverityZero), Enabled: ptr(true),
			EvaluationFrequency: ptr("PT5M"), WindowSize: ptr("PT5M"), Scopes: []*string{ptr(wsID)},
			Criteria: &armmonitor.ScheduledQueryRuleCriteria{AllOf: []*armmonitor.Condition{{
				Query: ptr(query), TimeAggregation: ptr(armmonitor.TimeAggregationCount),
				Operator: ptr(armmonitor.ConditionOperatorGreaterThan), Threshold: ptr(0.0),
				FailingPeriods: &armmonitor.ConditionFailingPeriods{NumberOfEvaluationPeriods: ptr[int64](1),
					MinFailingPeriodsToAlert: ptr[int64](1)},
			}}},
			AutoMitigate: ptr(false),
			Actions:      &armmonitor.Actions{ActionGroups: []*string{ptr(agID)}},
		}}
	got, err := c.rules.Get(ctx, cfg.ResourceGroup, cfg.Rule, nil)
	switch {
	case notFound(err):
	case err != nil:
		return nil, fmt.Errorf("alert rule %s: %w", cfg.Rule, err)
	case sameRule(got.Properties, want.Properties):
		return nil, nil
	}
	return []Request{{Method: http.MethodPut, Path: fmt.Sprintf(
		"/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Insights/scheduledQueryRules/%s",
		c.subscription, cfg.ResourceGroup, cfg.Rule), APIVersion: "2025-01-01-preview", body: want,
		What: fmt.Sprintf(
			"log search alert rule %q: every 5 minutes, any sign-in of %d accounts, severity 0, notify %q",
			cfg.Rule,
			len(cfg.Accounts),
			cfg.ActionGroup,
		)}}, nil
}

func sameRule(got, want *armmonitor.ScheduledQueryRuleProperties) bool {
	if got == nil || got.Criteria == nil || len(got.Criteria.AllOf) != 1 || got.Criteria.AllOf[0] == nil ||
		got.Actions == nil {
		return false
	}
	g, w := got.Criteria.AllOf[0], want.Criteria.AllOf[0]
	return got.Enabled != nil && *got.Enabled && str(got.EvaluationFrequency) == str(want.EvaluationFrequency) &&
		str(got.WindowSize) == str(want.WindowSize) && slices.EqualFunc(got.Scopes, want.Scopes, eqFold) &&
		str(g.Query) == str(w.Query) && g.Operator != nil && *g.Operator == *w.Operator &&
		g.Threshold != nil && *g.Threshold == *w.Threshold &&
		slices.EqualFunc(got.Actions.ActionGroups, want.Actions.ActionGroups, eqFold)
}

func eqFold(a, b *string) bool { return strings.EqualFold(str(a), str(b)) }

// Apply sends the planned writes in order and returns the resource IDs
// written. It stops at the first refusal.
func Apply(ctx context.Context, c *Client, reqs []Request) ([]string, error) {
	var ids []string
	for _, r := range reqs {
		switch b := r.body.(type) {
		case armmonitor.ActionGroupResource:
			rg, name, _ := groupOf(r.Path)
			resp, err := c.groups.CreateOrUpdate(ctx, rg, name, b, nil)
			if err != nil {
				return ids, fmt.Errorf("create action group %s: %s", name, errText(err))
			}
			ids = append(ids, str(resp.ID))
		case armmonitor.ScheduledQueryRuleResource:
			parts := strings.Split(strings.Trim(r.Path, "/"), "/")
			resp, err := c.rules.CreateOrUpdate(ctx, parts[3], parts[len(parts)-1], b, nil)
			if err != nil {
				return ids, fmt.Errorf("create alert rule %s: %s", parts[len(parts)-1], errText(err))
			}
			ids = append(ids, str(resp.ID))
		default:
			if r.lro {
				if err := c.putLRO(ctx, r.Path, r.APIVersion, b); err != nil {
					return ids, fmt.Errorf("%s: %s", r.What, errText(err))
				}
				ids = append(ids, r.Path)
				continue
			}
			var out struct {
				ID string `json:"id"`
			}
			if err := c.do(ctx, r.Method, r.Path, r.APIVersion, nil, b, &out); err != nil {
				return ids, fmt.Errorf("%s: %s", r.What, errText(err))
			}
			ids = append(ids, r.Path)
		}
	}
	return ids, nil
}

// Setup plans the writes, shows each to the officers, and applies them
// only once both confirmed: a refusal writes nothing. It returns the plan
// and the resource IDs written (none when everything was already there).
func Setup(ctx context.Context, c *Client, cfg SetupConfig, p officer.Prompter,
	officerA, officerB string) ([]Request, []string, error) {
	reqs, err := Plan(ctx, c, cfg)
	if err != nil {
		return nil, nil, err
	}
	if len(reqs) == 0 {
		p.Progress("monitoring", "already set up: nothing to create or change")
		return nil, nil, nil
	}
	var lines []string
	for _, r := range reqs {
		lines = append(lines, "  "+r.What+"\n    "+r.Method+" "+r.Path)
	}
	if err := p.Instruct(ctx, officer.Instruction{Kind: "monitor-setup",
		Text: "Monitoring set-up will make these changes:\n" + strings.Join(lines, "\n")}); err != nil {
		return reqs, nil, err
	}
	action := fmt.Sprintf("make these %d changes to the monitoring of the break-glass accounts", len(reqs))
	for _, who := range []string{officerA, officerB} {
		if err := p.Confirm(ctx, who, action); err != nil {
			return reqs, nil, fmt.Errorf("monitoring set-up not confirmed by %s: nothing was changed: %w", who, err)
		}
	}
	ids, err := Apply(ctx, c, reqs)
	return reqs, ids, err
}

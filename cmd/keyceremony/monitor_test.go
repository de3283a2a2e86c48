package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/internal/sim/armemu"
	"github.com/keyceremony/keyceremony/internal/sim/graphemu"
)

// runCLIIn is runCLI with the officers' answers on standard input.
func runCLIIn(t *testing.T, in string, args ...string) (int, string, string) {
	t.Helper()
	var o, e bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(in), &o, &e)
	return code, o.String(), e.String()
}

// `keyceremony monitor setup --config` on an empty subscription (the ARM
// emulator, reached over TLS trusting its certificate, the account's object
// ID read from the Graph emulator): --dry-run prints the ARM requests and
// writes nothing; one officer's refusal writes nothing (exit 1); both
// officers' yes creates the three resources and a signed report per account,
// chained to nothing here and verifying with report verify; a second run
// changes nothing and signs nothing.
func TestMonitorSetupCommand(t *testing.T) {
	_, user, cfgPath, outDir := realSitting(t, 1)
	emu := armemu.New(90, armemu.RoleReader, armemu.RoleLogAnalyticsRead, armemu.RoleMonitoringContrib, armemu.RoleSecurityAdmin)
	base, _ := emu.Start()
	t.Cleanup(emu.Close)
	ca := filepath.Join(t.TempDir(), "arm-ca.pem")
	if err := os.WriteFile(ca, emu.CAPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(cfgPath)
	block := fmt.Sprintf(`, "monitoring": {"subscription": %q, "resource_group": %q, "workspace": %q, "location": "westeurope",
		"receivers": [{"name": "Security operations", "email": "soc@contoso.com"}], "arm": %q, "ca": %q}}`,
		emu.Subscription, emu.ResourceGroup, emu.Workspace, base, ca)
	cfg = append(bytes.TrimRight(bytes.TrimSpace(cfg), "}"), block...)
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCLIIn(t, "", "monitor", "setup", "--config", cfgPath, "--dry-run")
	if code != 0 || !strings.Contains(out, "PUT /providers/microsoft.aadiam/diagnosticSettings/keyceremony-breakglass?api-version=2017-04-01") ||
		!strings.Contains(out, `UserId == \"`+user.ID+`\"`) || len(emu.Writes()) != 0 {
		t.Fatalf("dry run: exit %d, writes %v\n%s\n%s", code, emu.Writes(), out, errOut)
	}
	code, out, errOut = runCLIIn(t, "\ny\nn\n", "monitor", "setup", "--config", cfgPath)
	if code != 1 || !strings.Contains(errOut, "not confirmed by Bob Example: nothing was changed") || len(emu.Writes()) != 0 {
		t.Fatalf("refused by officer B: exit %d, writes %v\n%s\n%s", code, emu.Writes(), out, errOut)
	}
	code, out, errOut = runCLIIn(t, "\ny\ny\n", "monitor", "setup", "--config", cfgPath)
	if code != 0 || len(emu.Writes()) != 3 || !strings.Contains(out, "signed monitoring set-up report in ") {
		t.Fatalf("setup: exit %d, writes %v\n%s\n%s", code, emu.Writes(), out, errOut)
	}
	reports, _ := filepath.Glob(filepath.Join(outDir, "monitor-setup-*", "report.json"))
	if len(reports) != 1 {
		t.Fatalf("setup reports %v", reports)
	}
	body, _ := os.ReadFile(reports[0])
	for _, want := range []string{`"type":"monitor-setup"`, "/providers/microsoft.aadiam/diagnosticSettings/keyceremony-breakglass",
		"scheduledqueryrules/breakglass-signin", "actiongroups/breakglass-signin-alerts", user.ID} {
		if !strings.Contains(strings.ToLower(string(body)), strings.ToLower(want)) {
			t.Errorf("the setup report lacks %q:\n%s", want, body)
		}
	}
	if code, out, errOut := runCLI(t, "report", "verify", reports[0]); code != 0 {
		t.Errorf("report verify: %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLIIn(t, "\ny\ny\n", "monitor", "setup", "--config", cfgPath)
	if code != 0 || len(emu.Writes()) != 3 || !strings.Contains(out, "already set up") {
		t.Fatalf("second setup: exit %d, writes %v\n%s\n%s", code, emu.Writes(), out, errOut)
	}
	if again, _ := filepath.Glob(filepath.Join(outDir, "monitor-setup-*")); len(again) != 1 {
		t.Errorf("a second setup that changed nothing signed a report: %v", again)
	}
}

// Without a "monitoring" block the command says which keys to add (exit 2).
func TestMonitorSetupNeedsTheBlock(t *testing.T) {
	_, _, cfgPath, _ := realSitting(t, 1)
	code, _, errOut := runCLI(t, "monitor", "setup", "--config", cfgPath, "--dry-run")
	if code != 2 || !strings.Contains(errOut, `no "monitoring" block`) {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
}

// Issue 28: the ceremony's preflight audits the monitoring too, before any
// key is touched: on a subscription where nothing would raise an alert
// (no log search alert rule) the officers see the finding before they
// confirm the start, the preflight counts it, and nothing is written.
//
// Issue 27's posture reads reach the same screen: a group through which a
// policy excludes the account that anyone who manages groups could join
// (Maester MT.1035), and a sitting of one account with no other known.
func TestCeremonyPreflightAuditsTheMonitoringUnderTmux(t *testing.T) {
	ten, user, cfgPath, _ := realSitting(t, 1)
	ten.Emu.Update(func(st *graphemu.State) {
		st.Groups = append(st.Groups, graphemu.Group{ID: "g-bg", DisplayName: "BG exclusions",
			Members: []string{user.ID}, Extra: map[string]any{"isAssignableToRole": false}})
		st.CAPolicies[0].ExcludeUsers, st.CAPolicies[0].ExcludeGroups = nil, []string{"g-bg"}
	})
	emu := armemu.New(90, armemu.RoleReader, armemu.RoleLogAnalyticsRead)
	base, _ := emu.Start()
	t.Cleanup(emu.Close)
	ca := filepath.Join(t.TempDir(), "arm-ca.pem")
	if err := os.WriteFile(ca, emu.CAPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(cfgPath)
	block := fmt.Sprintf(`, "monitoring": {"subscription": %q, "resource_group": %q, "workspace": %q, "arm": %q, "ca": %q}}`,
		emu.Subscription, emu.ResourceGroup, emu.Workspace, base, ca)
	cfg = append(bytes.TrimRight(bytes.TrimSpace(cfg), "}"), block...)
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	_, seen := driveRefusedCeremony(t, buildBinary(t)+" ceremony --config "+cfgPath)
	all := strings.Join(strings.Fields(strings.Join(seen, "\n")), " ")
	start := strings.Index(all, "start the ceremony")
	if start < 0 {
		t.Fatalf("no start confirmation:\n%s", all)
	}
	if !strings.Contains(all[:start], "posture finding(s)") ||
		strings.Contains(all[:start], "Preflight breakglass1@contoso.onmicrosoft.com: 0 posture") ||
		!strings.Contains(all[:start], "POSTURE FINDING: alert rule (finding): no log search alert rule on the workspace") {
		t.Fatalf("the preflight did not show the monitoring findings before the start:\n%s", all)
	}
	// The screen keeps the last finding line only; the count holds the
	// others: the monitoring's two (no alert rule, so no alert for a
	// sign-in), the unprotected exclusion group and the single account
	// (a sitting of two accounts on this tenant counts 0:
	// TestRealSittingOfTwoAccountsUnderTmux).
	if !strings.Contains(all[:start], "Preflight breakglass1@contoso.onmicrosoft.com: 4 posture finding(s)") {
		t.Fatalf("the preflight did not count the posture reads' findings:\n%s", all[:start])
	}
	if len(emu.Writes()) != 0 {
		t.Fatalf("the audit wrote to the subscription: %v", emu.Writes())
	}
}

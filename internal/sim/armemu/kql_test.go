package armemu

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

var rows = []SignIn{
	{Time: t0, UserID: "00aa00aa-bb11-cc22-dd33-44ee44ee44ee", UPN: "breakglass1@contoso.onmicrosoft.com"},
	{Time: t0.Add(time.Minute), UserID: "11bb11bb-cc22-dd33-ee44-55ff55ff55ff", UPN: "breakglass2@contoso.onmicrosoft.com"},
	{Time: t0.Add(2 * time.Minute), UserID: "99999999-0000-0000-0000-000000000000", UPN: "someone@contoso.com"},
}

// The sample queries of Microsoft's page (MicrosoftDocs/entra-docs,
// docs/identity/role-based-access-control/security-emergency-access.md,
// "Create an alert rule") and the other shapes the emulator runs.
func TestRunKQL(t *testing.T) {
	for _, tc := range []struct {
		query string
		hits  int
		cols  int
	}{
		{"// Search for a single Object ID (UserID)\nSigninLogs\n| project UserId \n| where UserId == \"00aa00aa-bb11-cc22-dd33-44ee44ee44ee\"", 1, 1},
		{"SigninLogs\n| project UserId \n| where UserId == \"00aa00aa-bb11-cc22-dd33-44ee44ee44ee\" or UserId == \"11bb11bb-cc22-dd33-ee44-55ff55ff55ff\"", 2, 1},
		{"SigninLogs\n| project UserPrincipalName \n| where UserPrincipalName == \"breakglass2@contoso.onmicrosoft.com\"", 1, 1},
		{`SigninLogs | where UserId in ("00aa00aa-bb11-cc22-dd33-44ee44ee44ee", "nobody") | summarize count()`, 1, 1},
		{`SigninLogs | where UserId == "nobody" | summarize count()`, 0, 1},
		{`SigninLogs | where TimeGenerated > datetime(2026-11-01T10:00:30Z)`, 2, 6},
		{`SigninLogs`, 3, 6},
	} {
		tab, err := runKQL(tc.query, rows, t0, t0.Add(time.Hour))
		if err != nil {
			t.Errorf("%q: %v", tc.query, err)
			continue
		}
		if tab.hits() != tc.hits || len(tab.cols) != tc.cols {
			t.Errorf("%q: %d hits, %d columns; want %d, %d", tc.query, tab.hits(), len(tab.cols), tc.hits, tc.cols)
		}
	}
	audit := []AuditEvent{{Time: t0, OperationName: "Reset user password", TargetResources: `[{"id": "00AA00AA-bb11-cc22-dd33-44ee44ee44ee"}]`},
		{Time: t0, OperationName: "Update user", TargetResources: `[{"id": "11bb11bb-cc22-dd33-ee44-55ff55ff55ff"}]`}}
	tab, err := runOn(`AuditLogs | where TargetResources has "00aa00aa-bb11-cc22-dd33-44ee44ee44ee" | project TimeGenerated, OperationName`,
		tables{audit: audit}, t0, t0.Add(time.Hour))
	if err != nil || tab.hits() != 1 || tab.rows[0][1] != "Reset user password" {
		t.Errorf("AuditLogs has: %v %v", tab, err)
	}
	// The time range holds only the first sign-in.
	tab, err = runKQL("SigninLogs", rows, t0, t0.Add(time.Second))
	if err != nil || tab.hits() != 1 {
		t.Errorf("time range: %v, %v", tab, err)
	}
}

// A query the emulator cannot run is refused, never an empty result.
func TestRunKQLRefuses(t *testing.T) {
	for _, q := range []string{
		`AuditLogs | where UserId == "x"`,
		`SigninLogs | extend x = 1`,
		`SigninLogs | where UserId == "a" and AppDisplayName == "b"`,
		`SigninLogs | project UserId | where UserPrincipalName == "x"`,
		`SigninLogs | where UserId != "x"`,
		`SigninLogs | summarize count() by UserId`,
		`SigninLogs | where UserId == x`,
	} {
		if _, err := runKQL(q, rows, t0, t0.Add(time.Hour)); !errors.Is(err, errUnsupported) {
			t.Errorf("%q: %v, want errUnsupported", q, err)
		}
	}
}

// FuzzRunKQL: any query text is run or refused, without a panic, and a
// result never holds more rows than the table.
func FuzzRunKQL(f *testing.F) {
	f.Add("SigninLogs\n| project UserId \n| where UserId == \"00aa00aa-bb11-cc22-dd33-44ee44ee44ee\" or UserId == \"x\"")
	f.Add(`SigninLogs | where UserId in ("a", "b") | summarize count()`)
	f.Add(`SigninLogs | where TimeGenerated > datetime(2026-11-01T10:00:30Z) | project TimeGenerated, UserId`)
	f.Add(`SigninLogs | where "|" == "|"`)
	f.Fuzz(func(t *testing.T, q string) {
		tab, err := runKQL(q, rows, t0, t0.Add(time.Hour))
		if err != nil {
			if !errors.Is(err, errUnsupported) {
				t.Fatalf("%q: error %v is not errUnsupported", q, err)
			}
			return
		}
		if !tab.count && len(tab.rows) > len(rows) {
			t.Fatalf("%q: %d rows from %d", q, len(tab.rows), len(rows))
		}
	})
}

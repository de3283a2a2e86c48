package rehearsal

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/health"
	"github.com/keyceremony/keyceremony/internal/sim/emulated"
	"github.com/keyceremony/keyceremony/internal/sim/graphemu"
	"github.com/keyceremony/keyceremony/report"
)

// pagesServed counts, per collection path, the pages the emulator served
// after the first (requests carrying a $skiptoken).
func pagesServed(e *graphemu.Emulator) map[string]int {
	out := map[string]int{}
	for _, r := range e.Requests() {
		if strings.Contains(r.Query, "%24skiptoken=") || strings.Contains(r.Query, "$skiptoken=") {
			out[r.Path]++
		}
	}
	return out
}

// auditOf runs the posture audit the ceremony's preflight and the health
// check run, and renders its checks for comparison.
func auditOf(t *testing.T, ten *emulated.Tenant, upn string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out []string
	for _, c := range health.AuditPosture(ctx, ten.Client, upn, 0) {
		out = append(out, c.Status+" "+c.Name+": "+c.Detail)
	}
	return out
}

// A tenant at real size (issue 26: the account in 150 groups, 200 CA
// policies, 1,000 sign-ins and more): `tenant export` reads all of it
// following every @odata.nextLink (the emulator counts the further pages it
// served), the export loads back as a tenant, the posture audit finds the
// same on the export as on the original, and the whole rehearsal — the
// ceremony and its health check — runs on the export (rehearse --tenant).
func TestRealSizeTenantExportAndRehearse(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-size tenant: not in -short")
	}
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	ten, err := emulated.Start(
		emulated.Options{Dir: dir, Emulator: graphemu.Config{State: graphemu.RealSizeState(now)}},
	)
	if err != nil {
		t.Fatal(err)
	}
	defer ten.Close()
	upn := ten.Emu.Snapshot().Users[0].UserPrincipalName
	bg := ten.Emu.Snapshot().Users[0].ID

	// Export, read only, and every large collection past its first page.
	path := filepath.Join(dir, "tenant.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := ten.Client.ExportTenant(ctx, []string{upn}, now.AddDate(0, 0, -30), path, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, r := range ten.Emu.Requests() {
		if r.Method != "GET" && !strings.Contains(r.Path, "/oauth2/") {
			t.Errorf("the export wrote: %s %s", r.Method, r.Path)
		}
	}
	pages := pagesServed(ten.Emu)
	for p, want := range map[string]int{
		"/v1.0/users/" + bg + "/transitiveMemberOf": 1, // 150 groups: 100 + 50
		"/v1.0/identity/conditionalAccess/policies": 1, // 200 policies: 100 + 100
		"/v1.0/auditLogs/signIns":                   1, // 1,200 sign-ins: 1,000 + 200
		"/v1.0/auditLogs/directoryAudits":           1, // 1,200 events: 1,000 + 200
	} {
		if pages[p] != want {
			t.Errorf("%s: %d further pages served to the export, want %d (all: %v)", p, pages[p], want, pages)
		}
	}
	var file struct {
		Users, Groups, SignIns, DirectoryAudits []map[string]any
		CAPolicies                              []map[string]any `json:"conditionalAccessPolicies"`
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Users) != 1 || len(file.Groups) != 150 || len(file.CAPolicies) != 200 || len(file.SignIns) != 1200 ||
		len(file.DirectoryAudits) != 1200 {
		t.Fatalf("export: %d users, %d groups, %d policies, %d sign-ins, %d audits", len(file.Users), len(file.Groups),
			len(file.CAPolicies), len(file.SignIns), len(file.DirectoryAudits))
	}

	// The export, loaded, is the same tenant to the posture audit.
	if err := os.Mkdir(filepath.Join(dir, "loaded"), 0o700); err != nil {
		t.Fatal(err)
	}
	loaded, err := emulated.Start(
		emulated.Options{Dir: filepath.Join(dir, "loaded"), Emulator: graphemu.Config{TenantPath: path}},
	)
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Close()
	want, got := auditOf(t, ten, upn), auditOf(t, loaded, upn)
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Errorf(
			"posture audit of the original:\n%s\nof the export:\n%s",
			strings.Join(want, "\n"),
			strings.Join(got, "\n"),
		)
	}
	// The lock-out policy reaches the account through its 150th group,
	// listed 200th: the audit sees it only by following nextLink on both
	// transitiveMemberOf and the policies (the emulator counts the pages).
	// (The groups are read cast to groups, with their facts:
	// transitiveMemberOf/microsoft.graph.group, which the SDK writes
	// graph.group.)
	served := pagesServed(loaded.Emu)
	if served["/v1.0/users/"+bg+"/transitiveMemberOf/graph.group"] == 0 ||
		served["/v1.0/identity/conditionalAccess/policies"] == 0 {
		t.Errorf("the posture audit read only the first page of a collection: further pages served %v", served)
	}
	if audit := strings.Join(got, "\n"); !strings.Contains(audit, "Block sign-ins from outside the office") {
		t.Errorf("the audit does not name the policy reaching the account through its 150th group:\n%s", audit)
	}

	// The whole rehearsal on the export: ceremony, then health check.
	out := &strings.Builder{}
	err = RunSitting(
		ctx,
		out,
		SittingOptions{Dir: filepath.Join(dir, "rehearsal"), Accounts: 1, Health: true, Headless: true,
			Tool: report.Tool{Version: "test"}, TenantPath: path},
	)
	if err != nil && !strings.Contains(err.Error(), "findings") {
		t.Fatalf("rehearse --tenant: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "Rehearsal complete: 2 keys registered") ||
		!strings.Contains(out.String(), "Tenant: "+path) {
		t.Errorf("rehearse --tenant output:\n%s", out)
	}
	if !strings.Contains(out.String(), "HEALTH CHECK (rehearsal)") {
		t.Errorf("no health check ran:\n%s", out)
	}
}

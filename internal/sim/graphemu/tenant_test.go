package graphemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testdata/tenant-docs.json is a tenant pasted together from Microsoft's
// documented examples (microsoftgraph/microsoft-graph-docs-contrib):
// the Conditional Access policy is the response of
// api-reference/v1.0/api/conditionalaccesspolicy-get.md (commit
// 0408bcabaf9097c0952b891e8d5ca0afc498de4e; two excludeApplications
// dropped), the FIDO2 configuration that of
// api-reference/beta/api/fido2authenticationmethodconfiguration-get.md
// (commit 0713c450496046d1f357f9afae7a914ac6ab4277) with a group in
// excludeTargets; the others follow the shapes of user-get, group-get,
// unifiedroleassignmentschedule-list, administrativeunit-list-scopedrolemembers,
// domain-list, subscribedsku-list, signin-list, directoryaudit-list and
// authentication-list-methods.
func loadDocsTenant(t *testing.T) (*Emulator, string) {
	t.Helper()
	e, err := New(Config{TenantPath: filepath.Join("testdata", "tenant-docs.json")})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	tok, err := e.IssueToken(TokenClaims{Roles: []string{"Policy.Read.All", "User.Read.All", "Directory.Read.All",
		"AuditLog.Read.All", "RoleManagement.Read.Directory", "UserAuthenticationMethod.Read.All", "GroupMember.Read.All"}})
	if err != nil {
		t.Fatal(err)
	}
	return e, tok
}

// A tenant loaded from Graph's documented examples is served back as Graph
// returns it: the Conditional Access policy whole (every condition, grant
// and session control), the FIDO2 configuration with its exclude targets,
// and the collections the ceremony does not write, as they were.
func TestTenantFromDocumentedExamples(t *testing.T) {
	e, tok := loadDocsTenant(t)
	raw, _ := os.ReadFile(filepath.Join("testdata", "tenant-docs.json"))
	var want tenantFile
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	pols, _ := followAll(t, e, tok, e.URL()+"/v1.0/identity/conditionalAccess/policies")
	if len(pols) != 1 {
		t.Fatalf("policies: %v", pols)
	}
	for _, k := range []string{"conditions", "grantControls", "sessionControls", "createdDateTime", "state"} {
		if !reflect.DeepEqual(pols[0][k], want.CAPolicies[0][k]) {
			t.Errorf("policy %s served as %v, loaded as %v", k, pols[0][k], want.CAPolicies[0][k])
		}
	}
	code, fido := plainGet(
		t,
		e,
		tok,
		e.URL()+"/beta/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2",
	)
	if code != http.StatusOK || fido["state"] != "disabled" || fido["isAttestationEnforced"] != true {
		t.Fatalf("fido2 configuration: %d %v", code, fido)
	}
	ex := anys(fido["excludeTargets"])
	if len(ex) != 1 || ex[0].(map[string]any)["id"] != "02bd9fd6-8f93-4758-87c3-1fb73740a315" {
		t.Errorf("excludeTargets served as %v", fido["excludeTargets"])
	}
	code, mp := plainGet(t, e, tok, e.URL()+"/beta/policies/authenticationMethodsPolicy")
	if code != http.StatusOK || len(anys(mp["authenticationMethodConfigurations"])) != 2 {
		t.Errorf("methods policy: %d %v", code, mp)
	}
	for path, n := range map[string]int{"/v1.0/domains": 2, "/v1.0/subscribedSkus": 1, "/v1.0/organization": 1,
		"/v1.0/policies/authenticationStrengthPolicies": 1, "/v1.0/directory/administrativeUnits": 1,
		"/v1.0/directory/administrativeUnits/4d7ea995-bc0f-45c0-8c3e-132e93bd0d7a/scopedRoleMembers": 1,
		"/v1.0/groups/02bd9fd6-8f93-4758-87c3-1fb73740a315/members":                                  1,
		"/v1.0/roleManagement/directory/roleAssignmentSchedules":                                     1,
		"/v1.0/users/a702a13d-a437-4a07-8a7e-8c052de62dfd/authentication/methods":                    2} {
		items, _ := followAll(t, e, tok, e.URL()+path)
		if len(items) != n {
			t.Errorf("%s: %d items, want %d: %v", path, len(items), n, items)
		}
	}
	units, _ := followAll(t, e, tok, e.URL()+"/v1.0/directory/administrativeUnits")
	if units[0]["isMemberManagementRestricted"] != true || units[0]["scopedRoleMembers"] != nil {
		t.Errorf("administrative unit served as %v", units[0])
	}
	// The user's properties beyond the emulator's own come back under $select.
	code, u := plainGet(
		t,
		e,
		tok,
		e.URL()+"/v1.0/users/breakglass1@contoso.onmicrosoft.com?$select=id,onPremisesImmutableId,accountEnabled",
	)
	if code != http.StatusOK || u["accountEnabled"] != true || len(u) != 4 {
		t.Errorf("user: %d %v", code, u)
	}
	if st := e.Snapshot(); st.TenantID != "84841066-274d-4ec0-a5c1-276be684bdd3" ||
		st.Domain != "contoso.onmicrosoft.com" ||
		len(st.SignIns) != 1 ||
		st.DirectoryAudits[0].InitiatedByUPN != "admin@contoso.com" ||
		len(st.Methods["a702a13d-a437-4a07-8a7e-8c052de62dfd"]) != 1 {
		t.Errorf("loaded state: %+v", st)
	}
}

// A tenant file's subscribed SKUs tell its licence: without a service plan
// AAD_PREMIUM_P2 (ScubaGear's rule, PowerShell/ScubaGear/Rego/Utils/AAD.rego)
// the tenant is P1 or free and the PIM APIs answer 400
// AadPremiumLicenseRequired; with one, or with no SKUs in the file, they
// answer. The docs tenant carries P2.
func TestTenantLicenceFromSubscribedSkus(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join("testdata", "tenant-docs.json"))
	if err != nil {
		t.Fatal(err)
	}
	p1 := strings.Replace(string(docs), `"AAD_PREMIUM_P2"`, `"AAD_PREMIUM"`, 1)
	noSkus := strings.Replace(string(docs), `"subscribedSkus": [`, `"subscribedSkusAbsent": [`, 1)
	for name, c := range map[string]struct {
		body string
		p2   bool
	}{"P2": {string(docs), true}, "P1": {p1, false}, "no SKUs in the file": {noSkus, true}} {
		if c.body == string(docs) && name != "P2" {
			t.Fatalf("%s: the docs tenant changed shape", name)
		}
		st, err := LoadTenant([]byte(c.body))
		if err != nil {
			t.Fatal(err)
		}
		if st.NoEntraP2 == c.p2 {
			t.Errorf("%s: NoEntraP2 %v", name, st.NoEntraP2)
		}
		e, err := New(Config{State: st})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		tok, err := e.IssueToken(TokenClaims{Roles: []string{"RoleManagement.Read.Directory"}})
		if err != nil {
			t.Fatal(err)
		}
		code, body := plainGet(t, e, tok, e.URL()+"/v1.0/roleManagement/directory/roleEligibilitySchedules")
		e.Close()
		want := http.StatusOK
		if !c.p2 {
			want = http.StatusBadRequest
		}
		if code != want || (!c.p2 && !strings.Contains(fmt.Sprint(body), "AadPremiumLicenseRequired")) {
			t.Errorf("%s: PIM answered %d %v, want %d", name, code, body, want)
		}
	}
}

// A tenant file that cannot be read is an error naming what is wrong; the
// emulator does not start on a guess.
func TestTenantFileRefused(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ body, want string }{
		"not json":  {`{"users": [`, "tenant file"},
		"no users":  {`{"users": []}`, "no users"},
		"no upn":    {`{"users": [{"id": "x"}]}`, "users[0]"},
		"bad date":  {`{"users": [{"id": "x", "userPrincipalName": "a@b"}], "signIns": [{"createdDateTime": "yesterday"}]}`, "signIns[0]"},
		"bad sched": {`{"users": [{"id": "x", "userPrincipalName": "a@b"}], "roleAssignmentSchedules": [{"scheduleInfo": {"expiration": {"type": "afterDateTime", "endDateTime": "soon"}}}]}`, "roleAssignmentSchedules[0]"},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		if err := os.WriteFile(p, []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := New(Config{TenantPath: p})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", name, err, c.want)
		}
	}
	if _, err := New(Config{TenantPath: filepath.Join(dir, "missing.json")}); err == nil {
		t.Error("a missing tenant file was accepted")
	}
}

// LoadTenant reads bytes from a file an organisation exported: whatever
// they hold, it answers a state or an error, never a panic.
func FuzzLoadTenant(f *testing.F) {
	docs, err := os.ReadFile(filepath.Join("testdata", "tenant-docs.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(docs)
	f.Add(
		[]byte(
			`{"users":[{"id":"x","userPrincipalName":"a@b"}],"conditionalAccessPolicies":[{"id":"p","conditions":null}]}`,
		),
	)
	f.Add(
		[]byte(
			`{"users":[{"id":"x","userPrincipalName":"a@b"}],"authenticationMethodsPolicy":{"authenticationMethodConfigurations":[{"id":"fido2","includeTargets":[1,"x",{}]}]}}`,
		),
	)
	f.Add(
		[]byte(
			`{"users":[{"id":"x","userPrincipalName":"a@b"}],"groups":[{"id":"g","members":"all"}],"authenticationMethods":{"x":[{"@odata.type":"#microsoft.graph.fido2AuthenticationMethod"}]}}`,
		),
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := LoadTenant(b)
		if err == nil && (st == nil || len(st.Users) == 0) {
			t.Fatal("a tenant without users was accepted")
		}
	})
}

// Graph keeps sign-in and audit logs 30 days with Entra ID P1 or P2 and 7
// without (Microsoft Learn, "Microsoft Entra data retention"): older events
// are not served, whatever the state holds, so a health check long after the
// last report meets the gap a real tenant has.
func TestLogsKeptAsLongAsTheLicenceSays(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join("testdata", "tenant-docs.json"))
	if err != nil {
		t.Fatal(err)
	}
	for plan, premium := range map[string]bool{"AAD_PREMIUM_P2": true, "AAD_PREMIUM": true, "EXCHANGE_S_STANDARD": false} {
		st, err := LoadTenant([]byte(strings.Replace(string(docs), `"AAD_PREMIUM_P2"`, `"`+plan+`"`, 1)))
		if err != nil || st.NoEntraPremium == premium {
			t.Errorf("a tenant file whose service plan is %s: NoEntraPremium %v (%v)", plan, st.NoEntraPremium, err)
		}
	}
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name    string
		premium bool
		want    []string
	}{{"P1 or P2", true, []string{"s-3d", "s-10d"}}, {"no premium licence", false, []string{"s-3d"}}} {
		st := DefaultState()
		st.NoEntraPremium = !c.premium
		uid := st.Users[0].ID
		for _, d := range []int{3, 10, 40} {
			at := now.AddDate(0, 0, -d)
			st.SignIns = append(st.SignIns, SignIn{ID: fmt.Sprintf("s-%dd", d), CreatedDateTime: at, UserID: uid})
			st.DirectoryAudits = append(st.DirectoryAudits, DirectoryAudit{ID: fmt.Sprintf("s-%dd", d),
				ActivityDateTime: at, TargetIDs: []string{uid}})
		}
		e, err := New(Config{State: st, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		tok, err := e.IssueToken(TokenClaims{Roles: []string{"AuditLog.Read.All"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/v1.0/auditLogs/signIns", "/v1.0/auditLogs/directoryAudits"} {
			code, body := plainGet(t, e, tok, e.URL()+path)
			var got []string
			for _, v := range body["value"].([]any) {
				got = append(got, v.(map[string]any)["id"].(string))
			}
			if code != http.StatusOK || strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("%s: %s served %d %v, want %v", c.name, path, code, got, c.want)
			}
		}
		e.Close()
	}
}

package graphemu

import (
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
)

// The reads the posture audit added for issue 27, answered as Microsoft
// documents them, from a tenant file holding the documented examples
// (internal/posture/testdata/tenant-reads.json).
func TestPostureReadsAsDocumented(t *testing.T) {
	e, err := New(Config{TenantPath: filepath.Join("..", "..", "posture", "testdata", "tenant-reads.json")})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	const uid, group = "3cce9d87-3986-4f19-8335-7ed075408ca2", "2b5ed229-4072-478d-9504-a047ebd4b07d"
	tok, err := e.IssueToken(TokenClaims{Roles: []string{"GroupMember.Read.All", "Domain.Read.All",
		"Organization.Read.All", "PrivilegedEligibilitySchedule.Read.AzureADGroup"}})
	if err != nil {
		t.Fatal(err)
	}
	pim := e.URL() + "/v1.0/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances"
	filter := func(f string) string { return "?$filter=" + url.QueryEscape(f) }

	// privilegedaccessgroup-list-eligibilityscheduleinstances.md (v1.0,
	// commit 25062ededb4ae5c3b721a97b65ff1eb5dda1d201): "This method
	// requires the $filter (eq) query parameter to scope the request to a
	// principalId or a groupId"; the example's @odata.context.
	if code, body := plainGet(t, e, tok, pim); code != http.StatusBadRequest {
		t.Errorf("no $filter: %d %v", code, body)
	}
	code, body := plainGet(t, e, tok, pim+filter("principalId eq '"+uid+"'"))
	items, _ := body["value"].([]any)
	const root = "https://graph.microsoft.com/v1.0/$metadata#"
	if code != http.StatusOK || len(items) != 1 ||
		body["@odata.context"] != root+"identityGovernance/privilegedAccess/group/eligibilityScheduleInstances" {
		t.Fatalf("by principal: %d %v", code, body)
	}
	if it := items[0].(map[string]any); it["accessId"] != "member" || it["groupId"] != group {
		t.Errorf("instance served as %v", it)
	}
	if got, _ := followAll(t, e, tok, pim+filter("groupId eq '"+group+"'")); len(got) != 2 {
		t.Errorf("by group: %v", got)
	}
	// The assignment instances need their own permission.
	if code, body := plainGet(t, e, tok, e.URL()+"/v1.0/identityGovernance/privilegedAccess/group/"+
		"assignmentScheduleInstances"+filter("principalId eq '"+uid+"'")); code != http.StatusForbidden {
		t.Errorf("without PrivilegedAssignmentSchedule.Read.AzureADGroup: %d %v", code, body)
	}

	// The account's groups, cast and selected as the audit asks for them.
	code, body = plainGet(t, e, tok, e.URL()+"/v1.0/users/"+uid+"/transitiveMemberOf/microsoft.graph.group"+
		"?$select=id,displayName,isAssignableToRole,isManagementRestricted")
	items, _ = body["value"].([]any)
	if code != http.StatusOK || len(items) != 1 ||
		body["@odata.context"] != root+"groups(id,displayName,isAssignableToRole,isManagementRestricted)" {
		t.Fatalf("transitiveMemberOf/microsoft.graph.group: %d %v", code, body)
	}
	if g := items[0].(map[string]any); g["isAssignableToRole"] != false || g["securityEnabled"] != nil ||
		g["@odata.type"] != "#microsoft.graph.group" {
		t.Errorf("group served as %v", g)
	}
	// A selected property the group has no value for is there, null, as
	// Graph returns it.
	if v, ok := items[0].(map[string]any)["isManagementRestricted"]; !ok || v != nil {
		t.Errorf("isManagementRestricted selected and unset: %v, present %v", v, ok)
	}

	// Domains and organization as loaded (domain-list.md, organization-list).
	domains, _ := followAll(t, e, tok, e.URL()+"/v1.0/domains")
	if len(domains) != 2 || domains[1]["isInitial"] != true || domains[1]["id"] != "contoso.onmicrosoft.com" {
		t.Errorf("domains: %v", domains)
	}
	orgs, _ := followAll(t, e, tok, e.URL()+"/v1.0/organization?$select=id,createdDateTime")
	if len(orgs) != 1 || orgs[0]["createdDateTime"] != "2019-06-12T17:05:40Z" || orgs[0]["displayName"] != nil {
		t.Errorf("organization: %v", orgs)
	}

	// A tenant without Entra ID P2: PIM for Groups answers as the role PIM APIs.
	e.Update(func(st *State) { st.NoEntraP2 = true })
	code, body = plainGet(t, e, tok, pim+filter("principalId eq '"+uid+"'"))
	if errObj, _ := body["error"].(map[string]any); code != http.StatusBadRequest ||
		errObj["code"] != "AadPremiumLicenseRequired" {
		t.Errorf("without P2: %d %v", code, body)
	}
}

package graphemu

import (
	"encoding/json"
	"testing"
)

// What If (beta POST /identity/conditionalAccess/evaluate) answers each
// policy with policyApplies and analysisReasons as the reference documents
// them (whatIfAnalysisResult): a policy for legacy clients only does not
// apply to the browser sign-in the request names ("clientApps"), nor one
// for other applications ("application"); a policy on a role applies to a
// user who holds the role through a role-assignable group.
func TestWhatIfReasons(t *testing.T) {
	e, call := answersEmu(t)
	const group, pra = "g-tier0", "e8611ab8-c189-46e8-94e1-60213ab1f814"
	var uid string
	e.Update(func(st *State) {
		uid = st.Users[0].ID
		st.Groups = append(st.Groups, Group{ID: group, DisplayName: "Tier 0", Members: []string{uid}})
		st.RoleAssignments = append(st.RoleAssignments,
			RoleAssignment{ID: "ra-g", PrincipalID: group, RoleDefinitionID: pra, DirectoryScopeID: "/"})
		cond := func(clients []any, apps ...any) map[string]any {
			return map[string]any{"conditions": map[string]any{"clientAppTypes": clients,
				"applications": map[string]any{"includeApplications": apps}}}
		}
		st.CAPolicies = []CAPolicy{
			{ID: "legacy", State: "enabled", IncludeUsers: []string{"All"},
				Raw: cond([]any{"exchangeActiveSync", "other"}, "All")},
			{ID: "exo", State: "enabled", IncludeUsers: []string{"All"},
				Raw: cond([]any{"all"}, "00000002-0000-0ff1-ce00-000000000000")},
			{ID: "role", State: "enabled", IncludeRoles: []string{pra}, Raw: cond([]any{"all"}, "All")},
			{ID: "browser", State: "enabled", IncludeUsers: []string{"All"}, Raw: cond([]any{"browser"}, "All")},
		}
	})
	tok, err := e.IssueToken(TokenClaims{Roles: []string{"Policy.Read.All"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"signInIdentity": map[string]any{"@odata.type": "#microsoft.graph.userSignIn", "userId": uid},
		"signInContext": map[string]any{"@odata.type": "#microsoft.graph.applicationContext",
			"includeApplications": []string{"797f4846-ba00-4fd7-ba43-dac1f8f63013"}},
		"signInConditions": map[string]any{"clientAppType": "browser"},
	})
	code, m := call("POST", "/beta/identity/conditionalAccess/evaluate", tok, body)
	if code != 200 {
		t.Fatalf("evaluate: %d %v", code, m)
	}
	want := map[string]string{"legacy": "clientApps", "exo": "application", "role": "notSet", "browser": "notSet"}
	got := map[string]string{}
	for _, v := range m["value"].([]any) {
		p := v.(map[string]any)
		got[p["id"].(string)] = p["analysisReasons"].(string)
		if applies := p["policyApplies"].(bool); applies != (p["analysisReasons"] == "notSet") {
			t.Errorf("%s: policyApplies %v with %v", p["id"], applies, p["analysisReasons"])
		}
	}
	for id, r := range want {
		if got[id] != r {
			t.Errorf("%s: analysisReasons %q, want %q", id, got[id], r)
		}
	}
}

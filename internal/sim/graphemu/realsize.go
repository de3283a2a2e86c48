package graphemu

import (
	"fmt"
	"time"
)

// Names in the real-size tenant (RealSizeState).
const (
	// RealSizeLockoutPolicy is the one Conditional Access policy of the
	// real-size tenant that reaches the break-glass account without
	// excluding it: through its 150th group, past the first page of
	// transitiveMemberOf, and listed last, past the first page of policies.
	RealSizeLockoutPolicy = "ca-199"
	// RealSizeLastGroup is the group through which it reaches the account.
	RealSizeLastGroup = "00000000-0000-4000-8000-000000000149"
)

// RealSizeState is DefaultState at the sizes of a real tenant (issue 26):
// the break-glass account in 150 groups (101 direct, 49 through a nested
// group), 200 Conditional Access policies (199 exclude the account; the
// last, RealSizeLockoutPolicy, includes RealSizeLastGroup and blocks),
// 1,200 sign-ins of the account in the last day and 1,200 audit events
// about it, so that every large collection takes more than one page at
// Graph's default sizes.
func RealSizeState(now time.Time) *State {
	st := DefaultState()
	bg := st.Users[0]
	nested := "00000000-0000-4000-8000-000000000100"
	for i := range 150 {
		g := Group{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), DisplayName: fmt.Sprintf("Department %03d", i),
			Members: []string{bg.ID}, Extra: map[string]any{"securityEnabled": true, "isAssignableToRole": false}}
		if i > 100 {
			g.Members = []string{nested} // holds the account through group 100
		}
		st.Groups = append(st.Groups, g)
	}
	st.CAPolicies = nil
	for i := range 200 {
		p := CAPolicy{
			ID:           fmt.Sprintf("ca-%03d", i),
			DisplayName:  fmt.Sprintf("Require MFA for department %03d", i),
			State:        "enabled",
			IncludeUsers: []string{"All"},
			ExcludeUsers: []string{bg.ID},
			Raw: map[string]any{
				"grantControls": map[string]any{"operator": "OR", "builtInControls": []any{"mfa"}},
			},
		}
		if p.ID == RealSizeLockoutPolicy {
			p.DisplayName = "Block sign-ins from outside the office (department 149)"
			p.IncludeUsers, p.ExcludeUsers, p.IncludeGroups = []string{}, []string{}, []string{RealSizeLastGroup}
			p.Raw = map[string]any{"grantControls": map[string]any{"operator": "OR", "builtInControls": []any{"block"}}}
		}
		st.CAPolicies = append(st.CAPolicies, p)
	}
	for i := range 1200 {
		st.SignIns = append(
			st.SignIns,
			SignIn{ID: fmt.Sprintf("si-%04d", i), CreatedDateTime: now.Add(-time.Duration(1200-i) * time.Minute),
				UserID: bg.ID, UserPrincipalName: bg.UserPrincipalName, AppDisplayName: "Azure Portal",
				IPAddress: "192.0.2.1"},
		)
	}
	for i := range 1200 {
		st.DirectoryAudits = append(st.DirectoryAudits, DirectoryAudit{ID: fmt.Sprintf("au-%04d", i),
			ActivityDateTime: now.Add(
				-time.Duration(i) * time.Minute,
			), ActivityDisplayName: "Update user", Category: "UserManagement",
			InitiatedByUPN: "admin@contoso.onmicrosoft.com", TargetIDs: []string{bg.ID}, Result: "success"})
	}
	return st
}

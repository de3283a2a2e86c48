package posture_test

import (
	"errors"
	"testing"

	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/internal/posture"
)

// A role held through a role-assignable group is the account's role
// (Microsoft Learn, "Use Microsoft Entra groups to manage role
// assignments": members are assigned the role indirectly), so a policy
// aimed at it reaches the account; scoped to an administrative unit it
// does not (Conditional Access does not take AU-scoped roles); and when a
// group's roles could not be read, a policy aimed at any role is "could not
// check", never a pass.
func TestRoleThroughRoleAssignableGroup(t *testing.T) {
	const (
		ga      = "62e90394-69f5-4237-9190-012177145e10"
		pra     = "e8611ab8-c189-46e8-94e1-60213ab1f814" // Privileged Role Administrator
		groupID = "0a6c2c2d-3f6c-4c6e-9a4c-4c0f6a1b2c3d"
	)
	group := models.NewGroup()
	group.SetId(ptr(groupID))
	group.SetDisplayName(ptr("Tier 0 operators"))
	group.SetIsAssignableToRole(ptr(true))
	snapshot := func(groupRoles []enroll.RoleAssignment, readErr error) *posture.Snapshot {
		yes := true
		s := &posture.Snapshot{
			User: &enroll.User{ID: "u1", UPN: "bg1@contoso.onmicrosoft.com", AccountEnabled: &yes,
				PasswordPolicies: "DisablePasswordExpiration"},
			Roles:      &enroll.Roles{Active: []enroll.RoleAssignment{{RoleDefinitionID: ga, Scope: "/"}}},
			Groups:     []string{groupID},
			GroupFacts: map[string]models.Groupable{groupID: group},
			Policies: []enroll.CAPolicy{{ID: "p1", Name: "Privileged Role Administrators: compliant device",
				State: "enabled", IncludeRoles: []string{pra}, IncludeApps: []string{"All"},
				Grant: []string{"compliantDevice"}}},
			GroupRolesErr: readErr,
		}
		if readErr == nil {
			s.GroupRoles = map[string]*enroll.Roles{groupID: {Active: groupRoles}}
		}
		return s
	}
	checks := posture.Evaluate(snapshot([]enroll.RoleAssignment{{RoleDefinitionID: pra, Scope: "/"}}, nil))
	want(t, checks, "Conditional Access", posture.Finding, "Privileged Role Administrators: compliant device",
		"compliant device", `held through role-assignable group "Tier 0 operators"`)
	checks = posture.Evaluate(snapshot([]enroll.RoleAssignment{{RoleDefinitionID: pra, Scope: "/administrativeUnits/au1"}}, nil))
	if c := find(checks, "Conditional Access"); c.Status == posture.Finding {
		t.Errorf("a role scoped to an administrative unit reached the account: %s", c.Detail)
	}
	checks = posture.Evaluate(snapshot(nil, errors.New("the roles of group \"Tier 0 operators\": 403")))
	want(t, checks, "Conditional Access", posture.CouldNot, "Privileged Role Administrators", "roles could not be read",
		"Tier 0 operators")
}

func ptr[T any](v T) *T { return &v }

// An exclusion group whose facts were not read is named by its ID and is
// no protection (it used to be named through its missing facts: a panic).
func TestExclusionGroupWithoutFacts(t *testing.T) {
	yes := true
	s := &posture.Snapshot{
		User: &enroll.User{ID: "u1", UPN: "bg1@contoso.onmicrosoft.com", AccountEnabled: &yes,
			PasswordPolicies: "DisablePasswordExpiration"},
		Roles:  &enroll.Roles{},
		Groups: []string{"g-unknown"},
		Policies: []enroll.CAPolicy{{ID: "p1", Name: "Require MFA", State: "enabled", IncludeUsers: []string{"All"},
			ExcludeGroups: []string{"g-unknown"}, IncludeApps: []string{"All"}, Grant: []string{"mfa"}}},
	}
	want(t, posture.Evaluate(s), "exclusion groups protected", posture.Finding, "group g-unknown", "Require MFA")
}

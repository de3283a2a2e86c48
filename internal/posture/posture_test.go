package posture_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/internal/posture"
	"github.com/keyceremony/keyceremony/internal/sim/emulated"
	"github.com/keyceremony/keyceremony/internal/sim/graphemu"
)

// tenant starts an emulated tenant with one well-configured break-glass
// account (graphemu.DefaultState), changed by change.
func tenant(t *testing.T, change func(st *graphemu.State, uid string)) (*emulated.Tenant, string) {
	t.Helper()
	return tenantAs(t, nil, change)
}

// tenantAs is tenant with the app granted only roles (nil: the default).
func tenantAs(t *testing.T, roles []string, change func(st *graphemu.State, uid string)) (*emulated.Tenant, string) {
	t.Helper()
	ten, err := emulated.Start(emulated.Options{Dir: t.TempDir(), Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ten.Close() })
	uid := ten.Emu.Snapshot().Users[0].ID
	if change != nil {
		ten.Emu.Update(func(st *graphemu.State) { change(st, uid) })
	}
	return ten, uid
}

// audit reads and evaluates the account, with the recorded keys' models.
func audit(t *testing.T, ten *emulated.Tenant, uid string, aaguids ...string) []posture.Check {
	t.Helper()
	return posture.Evaluate(posture.Read(context.Background(), ten.Client, uid, aaguids))
}

func find(checks []posture.Check, name string) posture.Check {
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	return posture.Check{}
}

// want fails unless the named check has status and its detail holds each of
// the parts.
func want(t *testing.T, checks []posture.Check, name, status string, parts ...string) {
	t.Helper()
	c := find(checks, name)
	if c.Status != status {
		t.Fatalf("%s: %s %q, want %s", name, c.Status, c.Detail, status)
	}
	for _, p := range parts {
		if !strings.Contains(c.Detail, p) {
			t.Fatalf("%s: %q lacks %q", name, c.Detail, p)
		}
	}
}

const simAAGUID = "6b657963-6572-656d-6f6e-792d73696d6b" // allowed by graphemu.DefaultState

// The default tenant passes every check: the baseline each case breaks.
func TestCleanTenantPasses(t *testing.T) {
	ten, uid := tenant(t, nil)
	for _, c := range audit(t, ten, uid, simAAGUID) {
		if c.Status != posture.Pass {
			t.Errorf("%s: %s %s", c.Name, c.Status, c.Detail)
		}
	}
}

// Issue 27, false pass 1: a group holding the account in the FIDO2 method
// policy's excludeTargets turns the keys off for it (exclude wins over
// include: Graph fido2AuthenticationMethodConfiguration, excludeTargets,
// "groups of users that are excluded from the policy").
func TestFIDO2ExcludeTargetIsAFinding(t *testing.T) {
	ten, uid := tenant(t, func(st *graphemu.State, uid string) {
		st.Groups = append(st.Groups, graphemu.Group{ID: "g-no-passkeys", DisplayName: "No passkeys", Members: []string{uid}})
		st.FIDO2.ExcludeTargetIDs = []string{"g-no-passkeys"}
	})
	want(t, audit(t, ten, uid, simAAGUID), "FIDO2 method policy", posture.Finding, "excludes the account", "g-no-passkeys")
	// Before a ceremony (no keys yet) too.
	want(t, audit(t, ten, uid), "FIDO2 method policy", posture.Finding, "excludes the account")
}

// A passkey profile that takes no device-bound passkeys is a finding even
// before there are keys to judge.
func TestPasskeyProfileWithoutDeviceBoundIsAFinding(t *testing.T) {
	ten, uid := tenant(t, func(st *graphemu.State, uid string) {
		st.FIDO2.DefaultProfile = "p-synced"
		st.FIDO2.PasskeyProfiles = []graphemu.PasskeyProfile{{ID: "p-synced", Name: "Synced only", PasskeyTypes: "synced",
			AttestationEnforcement: "disabled"}}
	})
	want(t, audit(t, ten, uid), "FIDO2 method policy", posture.Finding, "Synced only", "takes no device-bound passkeys")
}

// Issue 27, false pass 2: on a tenant without Entra ID P2 the PIM APIs
// answer 400 AadPremiumLicenseRequired. The roles still come from
// roleAssignments, so a policy aimed at Global Administrator still applies.
func TestP1TenantReadsRolesThroughRoleAssignments(t *testing.T) {
	ten, uid := tenant(t, func(st *graphemu.State, uid string) {
		st.NoEntraP2 = true
		st.CAPolicies = append(st.CAPolicies, graphemu.CAPolicy{ID: "ca-admins", DisplayName: "Admins: compliant device",
			State: "enabled", IncludeRoles: []string{graphemu.RoleGlobalAdministrator}})
	})
	checks := audit(t, ten, uid, simAAGUID)
	want(t, checks, "Global Administrator", posture.Pass, "AadPremiumLicenseRequired")
	want(t, checks, "Conditional Access", posture.Finding, "Admins: compliant device", "role Global Administrator")
}

// An unread role set is "could not check", never "no roles": a policy
// aimed at a role cannot pass when the roles are unknown.
func TestUnreadRolesAreCouldNotCheck(t *testing.T) {
	var roles []string
	for _, r := range emulated.DefaultRoles() {
		if r != "RoleManagement.Read.Directory" {
			roles = append(roles, r)
		}
	}
	ten, uid := tenantAs(t, roles, func(st *graphemu.State, uid string) {
		st.CAPolicies = append(st.CAPolicies, graphemu.CAPolicy{ID: "ca-admins", DisplayName: "Admins: compliant device",
			State: "enabled", IncludeRoles: []string{graphemu.RoleGlobalAdministrator}})
	})
	checks := audit(t, ten, uid, simAAGUID)
	want(t, checks, "Global Administrator", posture.CouldNot)
	want(t, checks, "Conditional Access", posture.CouldNot, "Admins: compliant device", "roles could not be read")
}

// Issue 27, false pass 3: "Conditional Access policies don't support
// administrative unit-scoped role assignments" (Microsoft Learn,
// Conditional Access users, groups and roles): an exclusion through a role
// scoped to an administrative unit does not exclude the account.
func TestAUScopedRoleDoesNotExclude(t *testing.T) {
	const helpdesk = "729827e3-9c14-49f7-bb1b-9608f156bbb8" // Helpdesk Administrator template
	ten, uid := tenant(t, func(st *graphemu.State, uid string) {
		st.RoleAssignments = append(st.RoleAssignments, graphemu.RoleAssignment{ID: "ra-au", PrincipalID: uid,
			RoleDefinitionID: helpdesk, DirectoryScopeID: "/administrativeUnits/au-breakglass"})
		st.CAPolicies = append(st.CAPolicies, graphemu.CAPolicy{ID: "ca-all", DisplayName: "All users: compliant device",
			State: "enabled", IncludeUsers: []string{"All"}, ExcludeRoles: []string{helpdesk}})
	})
	want(t, audit(t, ten, uid, simAAGUID), "Conditional Access", posture.Finding, "All users: compliant device")
}

// Issue 27, false pass 5: a policy that reaches the account through its
// 101st group (past Graph's first page of transitiveMemberOf) applies.
func TestPolicyThroughThe101stGroup(t *testing.T) {
	ten, uid := tenant(t, func(st *graphemu.State, uid string) {
		for i := 1; i <= 101; i++ {
			st.Groups = append(st.Groups, graphemu.Group{ID: fmt.Sprintf("g-%03d", i), DisplayName: fmt.Sprintf("Group %d", i),
				Members: []string{uid}})
		}
		st.CAPolicies = append(st.CAPolicies, graphemu.CAPolicy{ID: "ca-101", DisplayName: "Group 101: block",
			State: "enabled", IncludeGroups: []string{"g-101"}})
	})
	want(t, audit(t, ten, uid, simAAGUID), "Conditional Access", posture.Finding, "Group 101: block", "group g-101")
}

// ScubaGear MS.AAD.7.3v1 fixture test_OnPremisesImmutableId_Incorrect_V1
// (cisagov/ScubaGear, PowerShell/ScubaGear/Testing/Unit/Rego/AAD/
// AADConfig_07_test.rego, commit 64f4742b2d1965118e103cb1ec38cc628f3bcf0b):
// OnPremisesImmutableId "HelloWorld" fails; null passes.
func TestImmutableIDIsNotCloudOnly(t *testing.T) {
	ten, uid := tenant(t, func(st *graphemu.State, uid string) {
		st.Users[0].Extra = map[string]any{"onPremisesImmutableId": "HelloWorld"}
	})
	want(t, audit(t, ten, uid, simAAGUID), "cloud-only account", posture.Finding, "HelloWorld", "MS.AAD.7.3")
}

// Issue 27, false pass 4: a health check 90 days after the last report
// cannot say "no sign-in since" for days Graph no longer keeps (30 days
// with P1/P2, 7 without: Microsoft Entra data retention).
func TestLogsPastRetention(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	last := now.Add(-90 * 24 * time.Hour)
	from, gap := posture.Retained(last, now, true)
	if !from.Equal(now.Add(-30*24*time.Hour)) || !strings.Contains(gap, last.Format(time.RFC3339)) ||
		!strings.Contains(gap, from.Format(time.RFC3339)) || !strings.Contains(gap, "30 days") {
		t.Fatalf("P1/P2: from %s, %q", from, gap)
	}
	from, gap = posture.Retained(last, now, false)
	if !from.Equal(now.Add(-7*24*time.Hour)) || !strings.Contains(gap, "7 days") {
		t.Fatalf("free: from %s, %q", from, gap)
	}
	recent := now.Add(-3 * 24 * time.Hour)
	if from, gap := posture.Retained(recent, now, false); !from.Equal(recent) || gap != "" {
		t.Fatalf("within retention: from %s, %q", from, gap)
	}
}

// Entra's What If (beta POST /identity/conditionalAccess/evaluate) is a
// second opinion: where Entra says a policy applies that the audit found
// no path for, the disagreement is a finding naming the policy; where they
// agree, a pass.
func TestWhatIfDisagreementIsAFinding(t *testing.T) {
	ten, uid := tenant(t, nil)
	want(t, audit(t, ten, uid, simAAGUID), "Conditional Access (What If)", posture.Pass, "agrees")
	ten, uid = tenant(t, func(st *graphemu.State, uid string) {
		st.WhatIfOverride = map[string]bool{"ca-mfa-all": true} // Entra sees a path the audit does not
	})
	want(t, audit(t, ten, uid, simAAGUID), "Conditional Access (What If)", posture.Finding,
		`"Require MFA for all users": Entra says it applies`)
	ten, uid = tenant(t, func(st *graphemu.State, uid string) {
		st.WhatIfOverride = map[string]bool{"ca-breakglass-phr": false} // Entra: "users"
	})
	want(t, audit(t, ten, uid, simAAGUID), "Conditional Access (What If)", posture.Finding,
		`"Emergency access: phishing-resistant MFA" (through the account): the audit says it applies, Entra says not (users)`)
}

// Global Administrator through a role-assignable group that holds the
// account counts as held (today's false "not assigned"), and a policy
// aimed at the role reaches the account through it.
func TestGlobalAdministratorThroughGroup(t *testing.T) {
	ten, uid := tenant(t, func(st *graphemu.State, uid string) {
		st.Groups = append(st.Groups, graphemu.Group{ID: "g-tier0", DisplayName: "Tier 0 (role-assignable)", Members: []string{uid},
			Extra: map[string]any{"isAssignableToRole": true, "securityEnabled": true}})
		st.RoleAssignments = []graphemu.RoleAssignment{
			{ID: "ra-g", PrincipalID: "g-tier0", RoleDefinitionID: graphemu.RoleGlobalAdministrator, DirectoryScopeID: "/"},
			{ID: "ra-admin", PrincipalID: "admin-2", RoleDefinitionID: graphemu.RoleGlobalAdministrator, DirectoryScopeID: "/"}}
		st.AssignmentSched = nil
		st.CAPolicies = append(st.CAPolicies, graphemu.CAPolicy{ID: "ca-ga", DisplayName: "GA: compliant device", State: "enabled",
			IncludeRoles: []string{graphemu.RoleGlobalAdministrator}})
	})
	checks := audit(t, ten, uid, simAAGUID)
	want(t, checks, "Global Administrator", posture.Pass, "role-assignable group g-tier0")
	want(t, checks, "Conditional Access", posture.Finding, "GA: compliant device", "role Global Administrator")
}

// The tenant's Global Administrators: 2 to 8, the anchors' own fixtures
// (ScubaGear MS.AAD.7.1v1, AADConfig_07_test.rego: 1 fails, 2 pass, 9 fail).
func TestGlobalAdministratorCount(t *testing.T) {
	for _, tc := range []struct {
		n      int
		status string
	}{{1, posture.Finding}, {2, posture.Pass}, {9, posture.Finding}} {
		ten, uid := tenant(t, func(st *graphemu.State, uid string) {
			st.RoleAssignments = st.RoleAssignments[:1] // the account's own
			for i := 2; i <= tc.n; i++ {
				st.RoleAssignments = append(st.RoleAssignments, graphemu.RoleAssignment{ID: fmt.Sprint("ra-", i),
					PrincipalID: fmt.Sprint("user-", i), RoleDefinitionID: graphemu.RoleGlobalAdministrator, DirectoryScopeID: "/"})
			}
		})
		want(t, audit(t, ten, uid, simAAGUID), "Global Administrators", tc.status, fmt.Sprint(tc.n, " Global Administrator"))
	}
}

// Red team: Entra's What If is asked for every policy (appliedPoliciesOnly
// false; microsoft-graph-docs-contrib api-reference/beta/api/
// conditionalaccessroot-evaluate.md, commit
// 10604e6c52b4e37aed019b402da377f07820bea9). An empty answer, or one that
// leaves out a policy the audit judged, was "agrees on the 0 policies": a
// second opinion that never spoke cannot agree. It is "could not check".
func TestWhatIfSilenceIsNotAgreement(t *testing.T) {
	ten, uid := tenant(t, nil)
	s := posture.Read(context.Background(), ten.Client, uid, []string{simAAGUID})
	if s.WhatIfErr != nil || len(s.WhatIf) == 0 || len(s.Policies) == 0 {
		t.Fatalf("baseline What If: %v, %d answers, %d policies", s.WhatIfErr, len(s.WhatIf), len(s.Policies))
	}
	want(t, posture.Evaluate(s), "Conditional Access (What If)", posture.Pass, "agrees")
	full := s.WhatIf
	s.WhatIf = full[1:]
	want(t, posture.Evaluate(s), "Conditional Access (What If)", posture.CouldNot, full[0].Name, "says nothing of")
	s.WhatIf = nil
	want(t, posture.Evaluate(s), "Conditional Access (What If)", posture.CouldNot, "(0 policies)")
}

// Red team: Global Administrator held only through a role-assignable group
// is permanent only if the group's own assignment is: its assignment
// schedule ending is a finding (anchor global-administrator-through-group-
// time-bound), and the group's roles unread are "could not check", never a
// pass.
func TestGlobalAdministratorThroughGroupUnreadSchedule(t *testing.T) {
	const group = "02bd9fd6-8f93-4758-87c3-1fb73740a315"
	ten, uid := tenant(t, func(st *graphemu.State, uid string) {
		st.Groups = append(st.Groups, graphemu.Group{ID: group, DisplayName: "Tier 0", Members: []string{uid},
			Extra: map[string]any{"isAssignableToRole": true}})
		st.RoleAssignments = []graphemu.RoleAssignment{
			{ID: "ra-g", PrincipalID: group, RoleDefinitionID: graphemu.RoleGlobalAdministrator, DirectoryScopeID: "/"},
			{ID: "ra-admin", PrincipalID: "admin-a", RoleDefinitionID: graphemu.RoleGlobalAdministrator,
				DirectoryScopeID: "/"}}
		st.AssignmentSched = nil
	})
	s := posture.Read(context.Background(), ten.Client, uid, []string{simAAGUID})
	if s.GroupRoles[group] == nil {
		t.Fatalf("the group's roles were not read: %v", s.GroupRolesErr)
	}
	want(t, posture.Evaluate(s), "Global Administrator", posture.Pass, "role-assignable group", group)
	delete(s.GroupRoles, group)
	s.GroupRolesErr = fmt.Errorf("the roles of group %s: %w", group, errors.New("503 Service Unavailable"))
	want(t, posture.Evaluate(s), "Global Administrator", posture.CouldNot, group, "could not be read", "503")
}

// Red team: reads that keep failing (503 or 429 past every retry) are
// "could not check" for what depends on them, never a pass: the policies,
// the FIDO2 method policy, Entra's What If, and the account's groups for a
// policy that names a group.
func TestFailingReadsAreCouldNotCheck(t *testing.T) {
	for _, c := range []struct {
		path, check string
		kind        graphemu.FaultKind
	}{
		{"/identity/conditionalAccess/policies", "Conditional Access", graphemu.FaultUnavailable},
		{"/authenticationMethodConfigurations/fido2", "FIDO2 method policy", graphemu.FaultThrottle},
		{"/identity/conditionalAccess/evaluate", "Conditional Access (What If)", graphemu.FaultUnavailable},
		{"/transitiveMemberOf", "Conditional Access", graphemu.FaultThrottle},
	} {
		t.Run(c.check+" "+c.path, func(t *testing.T) {
			ten, uid := tenant(t, func(st *graphemu.State, uid string) {
				for i := range st.CAPolicies {
					st.CAPolicies[i].ExcludeGroups = []string{"4c3f8e5a-1b2d-4e6f-8a9b-0c1d2e3f4a5b"}
				}
			})
			ten.Emu.Inject(graphemu.Fault{Path: c.path, Kind: c.kind, RetryAfter: time.Millisecond, Count: 1000})
			checks := audit(t, ten, uid, simAAGUID)
			for _, ch := range checks {
				if ch.Name == c.check && ch.Status == posture.Pass {
					t.Errorf("%s passes with %s failing: %s", c.check, c.path, ch.Detail)
				}
			}
			if worst(checks, c.check) != posture.CouldNot {
				t.Errorf("%s: want could-not-check, got\n%s", c.check, render(checks))
			}
		})
	}
}

// Red team: a block policy on the second page of the policies (Graph pages
// conditionalAccess/policies; the emulator serves 100 a page and an
// @odata.nextLink) is read and judged like the first page's.
func TestBlockPolicyOnTheSecondPage(t *testing.T) {
	ten, uid := tenant(t, func(st *graphemu.State, uid string) {
		for i := range 120 {
			st.CAPolicies = append(st.CAPolicies, policy(fmt.Sprintf("ca-other-%03d", i), fmt.Sprintf("Other %03d", i),
				"enabled", allApps(nil), grant("OR", "mfa"), nil, "0d5e8f21-6a3b-4c7d-8e9f-1a2b3c4d5e6f"))
		}
		st.CAPolicies = append(st.CAPolicies, policy("ca-last", "Block on page two", "enabled", allApps(nil),
			grant("OR", "block"), nil))
	})
	s := posture.Read(context.Background(), ten.Client, uid, []string{simAAGUID})
	if s.PoliciesErr != nil || len(s.Policies) < 121 {
		t.Fatalf("policies: %v, %d read", s.PoliciesErr, len(s.Policies))
	}
	want(t, posture.Evaluate(s), "Conditional Access", posture.Finding, "Block on page two", "block access")
	var paged bool
	for _, r := range ten.Emu.Requests() {
		paged = paged || strings.Contains(r.Path, "conditionalAccess/policies") && strings.Contains(r.Query, "skiptoken")
	}
	if !paged {
		t.Error("the policies were not read across pages")
	}
}

package posture_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/internal/posture"
	"github.com/keyceremony/keyceremony/internal/sim/emulated"
	"github.com/keyceremony/keyceremony/internal/sim/graphemu"
	"github.com/keyceremony/keyceremony/internal/tenantfile"
)

// The four reads issue 27 still lacked (the exclusion group's protection,
// the domain password policy, the tenant's initial domain, PIM for Groups),
// each judged end to end: emulator (Graph's documented answers) → enroll's
// reads → posture.Read → Evaluate.

// setDir replaces a collection the emulator serves as loaded: "domains"
// (GET /domains), "organization", PIM for Groups' "eligibilityScheduleInstances"
// and "assignmentScheduleInstances".
func setDir(st *graphemu.State, key string, list ...map[string]any) {
	if st.Directory == nil {
		st.Directory = map[string][]map[string]any{}
	}
	st.Directory[key] = list
}

// domain is a domain as GET /domains answers it (microsoft-graph-docs-contrib,
// api-reference/v1.0/api/domain-list.md, commit
// 08a23993be76586a1d89c0c0e54b92e839da3656, example response), with
// passwordValidityPeriodInDays when days is not nil.
func domain(id string, initial bool, days any) map[string]any {
	d := map[string]any{"authenticationType": "Managed", "availabilityStatus": nil, "isAdminManaged": true,
		"isDefault": initial, "isInitial": initial, "isRoot": true, "isVerified": true, "id": id,
		"supportedServices": []any{"Email", "OfficeCommunicationsOnline"}}
	if days != nil {
		d["passwordValidityPeriodInDays"] = days
	}
	return d
}

// tenantFromFile starts an emulated tenant loaded from a tenant file.
func tenantFromFile(t *testing.T, path string) (*emulated.Tenant, string) {
	t.Helper()
	ten, err := emulated.Start(emulated.Options{Dir: t.TempDir(), Emulator: graphemu.Config{TenantPath: path}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ten.Close() })
	return ten, ten.Emu.Snapshot().Users[0].ID
}

// The whole path, from a tenant file in Graph's own shapes
// (testdata/tenant-reads.json: the PIM for Groups eligibility is the
// example response of api-reference/v1.0/api/privilegedaccessgroup-list-eligibilityscheduleinstances.md,
// commit 25062ededb4ae5c3b721a97b65ff1eb5dda1d201, the account being its
// principal 3cce9d87-…; the domains follow domain-list.md, commit
// 08a23993be76586a1d89c0c0e54b92e839da3656) through the Graph emulator,
// enroll's reads, posture.Read and Evaluate to the four verdicts; then
// `tenant export` of that tenant, loaded again, gives the same verdicts.
func TestTenantFileToVerdicts(t *testing.T) {
	ten, uid := tenantFromFile(t, filepath.Join("testdata", "tenant-reads.json"))
	wantAll := func(t *testing.T, checks []posture.Check) {
		t.Helper()
		want(t, checks, "cloud-only account", posture.Finding, "breakglass1@contoso.com",
			"initial domain contoso.onmicrosoft.com")
		// contoso.com sets no passwordValidityPeriodInDays and the tenant
		// was created in 2019: the 90-day default applies.
		want(t, checks, "password expiry", posture.Finding, "90 days", "contoso.com", "2019-06-12")
		want(t, checks, "exclusion groups protected", posture.Finding, `"Break-glass exclusions"`,
			"02bd9fd6-8f93-4758-87c3-1fb73740a315", `"Require MFA for all users"`)
		want(t, checks, "Global Administrator", posture.Finding, "only eligible through PIM",
			"PIM for Groups", "2b5ed229-4072-478d-9504-a047ebd4b07d")
	}
	wantAll(t, audit(t, ten, uid))

	path := filepath.Join(t.TempDir(), "export.json")
	if err := ten.Client.ExportTenant(context.Background(), []string{uid}, time.Now().AddDate(0, 0, -30), path,
		io.Discard); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file tenantfile.File
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	// The export carries what the verdicts rest on: the account's PIM for
	// Groups instance (not another principal's), the group it names, and
	// the exclusion group's two facts, each as Graph returned it.
	if len(file.GroupEligibilityInstances) != 1 || file.GroupEligibilityInstances[0]["principalId"] != uid ||
		len(file.Domains) != 2 || len(file.Organization) != 1 {
		t.Fatalf("export: PIM for Groups %v, domains %v, organization %v", file.GroupEligibilityInstances,
			file.Domains, file.Organization)
	}
	facts := map[string]map[string]any{}
	for _, g := range file.Groups {
		facts[g["id"].(string)] = g
	}
	excl, ok := facts["02bd9fd6-8f93-4758-87c3-1fb73740a315"]
	if _, named := facts["2b5ed229-4072-478d-9504-a047ebd4b07d"]; !ok || !named || excl["isAssignableToRole"] != false {
		t.Fatalf("exported groups: %v", file.Groups)
	}
	if v, has := excl["isManagementRestricted"]; !has || v != nil {
		t.Fatalf("isManagementRestricted not exported as Graph answered it (null): %v", excl)
	}
	again, uid2 := tenantFromFile(t, path)
	if uid2 != uid {
		t.Fatalf("exported account %s, want %s", uid2, uid)
	}
	wantAll(t, audit(t, again, uid))
}

// Maester MT.1035 (Test-MtCaGroupsRestricted, maester365/maester
// powershell/public/maester/entra/Test-MtCaGroupsRestricted.ps1, commit
// 09e1183cb75c5609209f18e9d49c960e0be0febb): a group a Conditional Access
// policy names passes when isManagementRestricted or isAssignableToRole,
// fails otherwise. The audit judges the groups through which a policy
// excludes the account (deliberately not every group any policy names: an
// include group is judged by the policy's own evaluation, and a group that
// does not hold the account exempts nothing of it); Maester reads the
// property from beta, the v1.0 group resource has it too ("Returned only
// on $select"; msgraph-sdk-go v1.89.0 models.Group.GetIsManagementRestricted).
func TestExclusionGroupMustBeProtected(t *testing.T) {
	exclude := func(facts map[string]any) func(st *graphemu.State, uid string) {
		return func(st *graphemu.State, uid string) {
			st.Groups = append(st.Groups, graphemu.Group{ID: "02bd9fd6-8f93-4758-87c3-1fb73740a315",
				DisplayName: "Break-glass exclusions", Members: []string{uid}, Extra: facts})
			st.CAPolicies[0].ExcludeUsers = nil
			st.CAPolicies[0].ExcludeGroups = []string{"02bd9fd6-8f93-4758-87c3-1fb73740a315"}
		}
	}
	for _, tc := range []struct {
		name   string
		facts  map[string]any
		status string
		parts  []string
	}{
		// Maester: -not isManagementRestricted -and -not isAssignableToRole → fail.
		{"neither", map[string]any{"securityEnabled": true, "isAssignableToRole": false},
			posture.Finding, []string{`"Break-glass exclusions"`, `"Require MFA for all users"`, "MT.1035"}},
		{"role-assignable", map[string]any{"securityEnabled": true, "isAssignableToRole": true},
			posture.Pass, []string{"role-assignable"}},
		{"restricted management administrative unit", map[string]any{"securityEnabled": true,
			"isAssignableToRole": false, "isManagementRestricted": true},
			posture.Pass, []string{"restricted management administrative unit"}},
		// Red team: restricted, but dynamic — its rule, not its managers,
		// decides who is in it, and user attributes are widely writable.
		{"restricted management administrative unit but dynamic", map[string]any{"securityEnabled": true,
			"isAssignableToRole": false, "isManagementRestricted": true, "groupTypes": []any{"DynamicMembership"},
			"membershipRule": `user.department -eq "Break glass"`},
			posture.Finding, []string{`"Break-glass exclusions"`, "dynamic group", `user.department -eq \"Break glass\"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ten, uid := tenant(t, exclude(tc.facts))
			checks := audit(t, ten, uid, simAAGUID)
			want(t, checks, "exclusion groups protected", tc.status, tc.parts...)
			// The exclusion still works: Conditional Access passes.
			want(t, checks, "Conditional Access", posture.Pass)
		})
	}
	// A restricted group that holds the account only through a nested,
	// unprotected group: that group's managers decide who is exempt, so
	// the restriction protects nothing (user-list-memberof tells the
	// direct memberships); with the account a direct member too, it passes.
	for _, direct := range []bool{false, true} {
		ten, uid := tenant(t, func(st *graphemu.State, uid string) {
			exclude(map[string]any{"isAssignableToRole": false, "isManagementRestricted": true})(st, uid)
			st.Groups[len(st.Groups)-1].Members = []string{"5d7c6f3a-1b2e-4c8d-9e0f-a1b2c3d4e5f6"}
			if direct {
				st.Groups[len(st.Groups)-1].Members = append(st.Groups[len(st.Groups)-1].Members, uid)
			}
			st.Groups = append(st.Groups, graphemu.Group{ID: "5d7c6f3a-1b2e-4c8d-9e0f-a1b2c3d4e5f6",
				DisplayName: "Operations on call", Members: []string{uid}})
		})
		checks := audit(t, ten, uid, simAAGUID)
		if direct {
			want(t, checks, "exclusion groups protected", posture.Pass, "restricted management administrative unit")
		} else {
			want(t, checks, "exclusion groups protected", posture.Finding, `"Break-glass exclusions"`,
				"only through a nested group", "direct member")
		}
		want(t, checks, "Conditional Access", posture.Pass)
	}
	// A group the account is not in exempts nothing of it.
	ten, uid := tenant(t, func(st *graphemu.State, uid string) {
		st.Groups = append(st.Groups, graphemu.Group{ID: "g-other", DisplayName: "Others", Members: []string{}})
		st.CAPolicies[0].ExcludeGroups = []string{"g-other"}
	})
	want(t, audit(t, ten, uid, simAAGUID), "exclusion groups protected", posture.Pass, "no enabled policy")
	// Groups unread (no GroupMember.Read.All): could not check, never pass.
	var roles []string
	for _, r := range emulated.DefaultRoles() {
		if r != "GroupMember.Read.All" {
			roles = append(roles, r)
		}
	}
	ten, uid = tenantAs(t, roles, exclude(map[string]any{"isAssignableToRole": true}))
	want(t, audit(t, ten, uid, simAAGUID), "exclusion groups protected", posture.CouldNot,
		"groups could not be read")
}

// Password expiry through the domain (issue 27): the password never
// expires when passwordPolicies has DisablePasswordExpiration, or when the
// UPN's domain sets passwordValidityPeriodInDays 2147483647, or sets none
// on a tenant created since 2021 ("Default value: No expiration. If the
// tenant was created before 2021, it has a 90 day expiration value by
// default": Microsoft Learn, "Password policies and account restrictions
// in Microsoft Entra ID"; MicrosoftDocs/azure-docs
// articles/active-directory/authentication/concept-sspr-policy.md, commit
// 8c26893ae8ed1cb394e3e5edd5ef2bd8e00f3a6f). Before, a never-expire domain
// gave a false "password expires".
func TestPasswordExpiryThroughTheDomain(t *testing.T) {
	org := func(created string) map[string]any {
		return map[string]any{"id": "7c1d5b3e-2a4f-4e8b-9c6d-0f1e2d3c4b5a", "displayName": "Contoso",
			"createdDateTime": created}
	}
	for _, tc := range []struct {
		name, policies string
		days           any
		created        string
		status         string
		parts          []string
	}{
		{"user never expires", "DisablePasswordExpiration", 90, "2019-01-01T00:00:00Z", posture.Pass,
			[]string{"DisablePasswordExpiration"}},
		{"domain never expires", "None", 2147483647, "2019-01-01T00:00:00Z", posture.Pass,
			[]string{"passwordValidityPeriodInDays 2147483647"}},
		{"domain expires", "None", 90, "2023-01-01T00:00:00Z", posture.Finding,
			[]string{"expires after 90 days", "contoso.onmicrosoft.com"}},
		{"unset on a tenant since 2021", "None", nil, "2021-03-01T00:00:00Z", posture.Pass,
			[]string{"no default expiry", "2021-03-01"}},
		{"unset on a tenant before 2021", "None", nil, "2020-12-31T23:00:00Z", posture.Finding,
			[]string{"90-day default", "2020-12-31"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ten, uid := tenant(t, func(st *graphemu.State, uid string) {
				st.Users[0].PasswordPolicies = tc.policies
				setDir(st, "domains", domain("contoso.onmicrosoft.com", true, tc.days))
				setDir(st, "organization", org(tc.created))
			})
			want(t, audit(t, ten, uid, simAAGUID), "password expiry", tc.status, tc.parts...)
		})
	}
	// The domain policy unread (no Domain.Read.All): could not check.
	var roles []string
	for _, r := range emulated.DefaultRoles() {
		if r != "Domain.Read.All" {
			roles = append(roles, r)
		}
	}
	ten, uid := tenantAs(t, roles, func(st *graphemu.State, uid string) { st.Users[0].PasswordPolicies = "None" })
	checks := audit(t, ten, uid, simAAGUID)
	want(t, checks, "password expiry", posture.CouldNot, "not permitted")
	want(t, checks, "cloud-only account", posture.CouldNot, "not permitted")
}

// ScubaGear MS.AAD.6.1v1 ("User passwords SHALL NOT expire"), its own
// fixture (cisagov/ScubaGear PowerShell/ScubaGear/Testing/Unit/Rego/AAD/:
// DomainSettings in AADBaseConfig.rego, commit
// 18f76e0716566c0bedee062b6c765285e1a80c66, three verified domains at
// INT_MAX; AADConfig_06_test.rego, commit
// 28a19fbe43a0d94cda2a3548e9d5370c04f1e712): test_PasswordValidityPeriodInDays_Correct
// passes, _Incorrect (test.url.com and test1.url.com patched to 0) fails.
// The audit gives the same verdicts for an account on test.url.com; it
// deliberately judges the account's own domain (and its passwordPolicies)
// where ScubaGear judges every verified domain: only the break-glass
// account's password can lock it out.
func TestPasswordExpiryScubaGearFixture(t *testing.T) {
	const intMax = 2147483647
	for _, tc := range []struct {
		name   string
		days   [3]any
		status string
	}{
		{"test_PasswordValidityPeriodInDays_Correct", [3]any{intMax, intMax, intMax}, posture.Pass},
		{"test_PasswordValidityPeriodInDays_Incorrect", [3]any{0, 0, intMax}, posture.Finding},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ten, uid := tenant(t, func(st *graphemu.State, uid string) {
				st.Users[0].UserPrincipalName, st.Users[0].PasswordPolicies = "breakglass1@test.url.com", "None"
				setDir(st, "domains", domain("test.url.com", false, tc.days[0]),
					domain("test1.url.com", false, tc.days[1]), domain("test2.url.com", false, tc.days[2]),
					domain("contoso.onmicrosoft.com", true, nil))
			})
			want(t, audit(t, ten, uid, simAAGUID), "password expiry", tc.status, "test.url.com")
		})
	}
}

// Cloud-only on the tenant's initial domain (GET /domains, isInitial: "the
// initial domain created by Microsoft Online Services
// (companyname.onmicrosoft.com)", Graph domain resource): any
// *.onmicrosoft.com is not enough.
func TestUPNOnTheInitialDomain(t *testing.T) {
	for _, tc := range []struct {
		name, upn, status string
		parts             []string
	}{
		{"on it", "breakglass1@contoso.onmicrosoft.com", posture.Pass,
			[]string{"initial domain contoso.onmicrosoft.com"}},
		{"another tenant's name", "breakglass1@fabrikam.onmicrosoft.com", posture.Finding,
			[]string{"fabrikam.onmicrosoft.com", "initial domain contoso.onmicrosoft.com"}},
		{"a custom domain", "breakglass1@contoso.com", posture.Finding,
			[]string{"breakglass1@contoso.com", "initial domain contoso.onmicrosoft.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ten, uid := tenant(t, func(st *graphemu.State, uid string) {
				st.Users[0].UserPrincipalName = tc.upn
				setDir(st, "domains", domain("contoso.com", false, 2147483647),
					domain("contoso.onmicrosoft.com", true, 2147483647),
					domain("fabrikam.onmicrosoft.com", false, 2147483647))
			})
			want(t, audit(t, ten, uid, simAAGUID), "cloud-only account", tc.status, tc.parts...)
		})
	}
}

// Global Administrator through PIM for Groups: a role-assignable group
// holds the role and the account is only eligible for its membership (an
// eligibilityScheduleInstance, api-reference/v1.0/api/privilegedaccessgroup-list-eligibilityscheduleinstances.md,
// commit 25062ededb4ae5c3b721a97b65ff1eb5dda1d201) → the same finding as a
// direct eligibility; an active membership through PIM (an
// assignmentScheduleInstance, privilegedaccessgroup-list-assignmentscheduleinstances.md,
// commit 0233faf53cc72a3da13439900c0e4560dcccdd3a) → held. Without Entra
// ID P2 the API answers 400 AadPremiumLicenseRequired: no evidence either way.
func TestGlobalAdministratorThroughPIMForGroups(t *testing.T) {
	const group = "2b5ed229-4072-478d-9504-a047ebd4b07d"
	instance := func(uid, access string) map[string]any {
		return map[string]any{"id": group + "_" + access + "_326a4063-93c5-4998-9537-969b8cd50297",
			"startDateTime": "2023-08-18T00:33:48.8Z", "endDateTime": nil, "accessId": access,
			"principalId": uid, "groupId": group, "memberType": "Direct"}
	}
	gaThroughGroup := func(st *graphemu.State) {
		st.Groups = append(st.Groups, graphemu.Group{ID: group, DisplayName: "Tier 0", Members: []string{},
			Extra: map[string]any{"isAssignableToRole": true}})
		st.RoleAssignments = []graphemu.RoleAssignment{
			{ID: "ra-g", PrincipalID: group, RoleDefinitionID: graphemu.RoleGlobalAdministrator, DirectoryScopeID: "/"},
			{ID: "ra-admin", PrincipalID: "admin-a", RoleDefinitionID: graphemu.RoleGlobalAdministrator,
				DirectoryScopeID: "/"}}
		st.AssignmentSched = nil
	}
	t.Run("eligible member", func(t *testing.T) {
		ten, uid := tenant(t, func(st *graphemu.State, uid string) {
			gaThroughGroup(st)
			setDir(st, "eligibilityScheduleInstances", instance(uid, "member"))
		})
		want(t, audit(t, ten, uid, simAAGUID), "Global Administrator", posture.Finding,
			"only eligible through PIM, not active", "PIM for Groups", group)
	})
	t.Run("eligible owner is no membership", func(t *testing.T) {
		ten, uid := tenant(t, func(st *graphemu.State, uid string) {
			gaThroughGroup(st)
			setDir(st, "eligibilityScheduleInstances", instance(uid, "owner"))
		})
		want(t, audit(t, ten, uid, simAAGUID), "Global Administrator", posture.Finding, "not assigned")
	})
	t.Run("active member", func(t *testing.T) {
		ten, uid := tenant(t, func(st *graphemu.State, uid string) {
			gaThroughGroup(st)
			a := instance(uid, "member")
			a["assignmentType"] = "Activated"
			setDir(st, "assignmentScheduleInstances", a)
		})
		want(t, audit(t, ten, uid, simAAGUID), "Global Administrator", posture.Pass,
			"active member through PIM for Groups", group)
	})
	t.Run("active member until a date", func(t *testing.T) {
		// The documented example's first instance: assignmentType
		// Assigned, endDateTime 2024-03-27T15:47:19.653Z.
		ten, uid := tenant(t, func(st *graphemu.State, uid string) {
			gaThroughGroup(st)
			a := instance(uid, "member")
			a["assignmentType"], a["endDateTime"] = "Assigned", "2024-03-27T15:47:19.653Z"
			setDir(st, "assignmentScheduleInstances", a)
		})
		want(t, audit(t, ten, uid, simAAGUID), "Global Administrator", posture.Finding, group,
			"ends 2024-03-27T15:47:19Z", "must be permanent")
	})
	t.Run("no Entra ID P2", func(t *testing.T) {
		ten, uid := tenant(t, func(st *graphemu.State, uid string) {
			gaThroughGroup(st)
			st.NoEntraP2 = true
			setDir(st, "eligibilityScheduleInstances", instance(uid, "member"))
		})
		want(t, audit(t, ten, uid, simAAGUID), "Global Administrator", posture.Finding, "not assigned",
			"no Entra ID P2")
	})
	t.Run("not permitted", func(t *testing.T) {
		var roles []string
		for _, r := range emulated.DefaultRoles() {
			if r != "PrivilegedAssignmentSchedule.Read.AzureADGroup" {
				roles = append(roles, r)
			}
		}
		ten, uid := tenantAs(t, roles, func(st *graphemu.State, uid string) {
			gaThroughGroup(st)
			a := instance(uid, "member")
			setDir(st, "assignmentScheduleInstances", a)
		})
		// The active membership could not be seen: a finding that says why,
		// never a pass on what was not read.
		want(t, audit(t, ten, uid, simAAGUID), "Global Administrator", posture.Finding, "not assigned",
			"PIM for Groups could not be read", "403")
		// A member of the group, but PIM for Groups unread: the membership
		// may be an activation that ends, so it is not called permanent.
		ten.Emu.Update(func(st *graphemu.State) {
			for i := range st.Groups {
				if st.Groups[i].ID == group {
					st.Groups[i].Members = []string{uid}
				}
			}
		})
		want(t, audit(t, ten, uid, simAAGUID), "Global Administrator", posture.CouldNot, group,
			"whether that membership is permanent could not be read", "403")
	})
	t.Run("member without Entra ID P2", func(t *testing.T) {
		// No PIM, so no activation that ends: the membership is held.
		ten, uid := tenant(t, func(st *graphemu.State, uid string) {
			gaThroughGroup(st)
			st.NoEntraP2 = true
			st.Groups[len(st.Groups)-1].Members = []string{uid}
		})
		want(t, audit(t, ten, uid, simAAGUID), "Global Administrator", posture.Pass, group, "which holds the account")
	})
}

// "At least two break-glass accounts" (issue 27, tenant-wide; Microsoft
// Learn, "Manage emergency access accounts in Microsoft Entra ID"): the
// audit says how many the configuration names; nothing when not known.
func TestBreakGlassAccountCount(t *testing.T) {
	ten, uid := tenant(t, nil)
	for _, tc := range []struct {
		n      int
		status string
		parts  []string
	}{
		{1, posture.Finding, []string{"one break-glass account", "at least two"}},
		{2, posture.Pass, []string{"2 break-glass accounts"}},
	} {
		s := posture.Read(context.Background(), ten.Client, uid, nil)
		s.Accounts = tc.n
		want(t, posture.Evaluate(s), "emergency access accounts", tc.status, tc.parts...)
	}
	if c := find(audit(t, ten, uid), "emergency access accounts"); c.Name != "" {
		t.Fatalf("accounts not known, yet: %v", c)
	}
}

package posture_test

import (
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/internal/posture"
	"github.com/keyceremony/keyceremony/internal/sim/graphemu"
)

// policy builds a Conditional Access policy as Graph returns it
// (conditionalAccessPolicy: conditions, grantControls, sessionControls;
// the shapes of microsoft-graph-docs-contrib api-reference/v1.0/resources/
// conditionalaccesspolicy.md), aimed at All users unless users is given.
func policy(id, name, state string, conditions, grant, session map[string]any, users ...string) graphemu.CAPolicy {
	if len(users) == 0 {
		users = []string{"All"}
	}
	raw := map[string]any{"conditions": conditions}
	if grant != nil {
		raw["grantControls"] = grant
	}
	if session != nil {
		raw["sessionControls"] = session
	}
	return graphemu.CAPolicy{ID: id, DisplayName: name, State: state, IncludeUsers: users, Raw: raw}
}

func allApps(extra map[string]any) map[string]any {
	c := map[string]any{"clientAppTypes": []any{"all"}, "applications": map[string]any{"includeApplications": []any{"All"}}}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func grant(op string, controls ...string) map[string]any {
	l := []any{}
	for _, c := range controls {
		l = append(l, c)
	}
	return map[string]any{"operator": op, "builtInControls": l}
}

// Issue 27: each enabled policy that reaches the account is judged by what
// it would demand at an emergency sign-in with the keys. A lock-out is a
// finding naming the policy, the path and the condition.
func TestPolicyDemands(t *testing.T) {
	cases := []struct {
		name   string
		pol    graphemu.CAPolicy
		check  string
		status string
		parts  []string
	}{
		{"block outside trusted locations",
			policy("p1", "Block outside trusted", "enabled", allApps(map[string]any{
				"locations": map[string]any{"includeLocations": []any{"All"}, "excludeLocations": []any{"AllTrusted"}}}),
				grant("OR", "block"), nil),
			"Conditional Access", posture.Finding, []string{`"Block outside trusted" (through all users)`, "block access",
				"locations other than AllTrusted"}},
		{"compliant device",
			policy("p2", "Compliant device", "enabled", allApps(nil), grant("OR", "compliantDevice"), nil),
			"Conditional Access", posture.Finding, []string{"a compliant device"}},
		{"hybrid join on Windows only",
			policy("p3", "Hybrid join", "enabled", allApps(map[string]any{
				"platforms": map[string]any{"includePlatforms": []any{"windows"}}}), grant("OR", "domainJoinedDevice"), nil),
			"Conditional Access", posture.Finding, []string{"a hybrid-joined device", "platforms windows"}},
		{"approved app and app protection",
			policy("p4", "Mobile apps", "enabled", allApps(nil), grant("AND", "approvedApplication", "compliantApplication"), nil),
			"Conditional Access", posture.Finding, []string{"an approved client app and an app protection policy"}},
		{"password change on high user risk",
			policy("p5", "Risky users", "enabled", allApps(map[string]any{"userRiskLevels": []any{"high"}}),
				grant("AND", "mfa", "passwordChange"), nil),
			"Conditional Access", posture.Finding, []string{"a password change", "user risk high"}},
		{"terms of use",
			policy("p6", "Terms", "enabled", allApps(nil), map[string]any{"operator": "OR", "builtInControls": []any{},
				"termsOfUse": []any{"tou-1"}}, nil),
			"Conditional Access", posture.Finding, []string{"accepting terms of use tou-1"}},
		{"MFA or compliant device: the keys satisfy MFA",
			policy("p7", "MFA or compliant", "enabled", allApps(nil), grant("OR", "mfa", "compliantDevice"), nil),
			"Conditional Access", posture.Pass, []string{`"MFA or compliant"`, "MFA (the keys satisfy it)"}},
		{"MFA and compliant device",
			policy("p8", "MFA and compliant", "enabled", allApps(nil), grant("AND", "mfa", "compliantDevice"), nil),
			"Conditional Access", posture.Finding, []string{"a compliant device"}},
		{"session controls only",
			policy("p9", "Sign-in every 4 hours", "enabled", allApps(nil), nil,
				map[string]any{"signInFrequency": map[string]any{"isEnabled": true, "value": 4, "type": "hours"}}),
			"Conditional Access", posture.Pass, []string{"session controls only", "sign-in frequency"}},
		{"other applications only",
			policy("p10", "Block Exchange", "enabled", map[string]any{"applications": map[string]any{
				"includeApplications": []any{"00000002-0000-0ff1-ce00-000000000000"}}}, grant("OR", "block"), nil),
			"Conditional Access", posture.Pass, []string{"not at an admin-portal sign-in", `"Block Exchange"`}},
		{"legacy clients only",
			policy("p11", "Block legacy auth", "enabled", map[string]any{"clientAppTypes": []any{"exchangeActiveSync", "other"},
				"applications": map[string]any{"includeApplications": []any{"All"}}}, grant("OR", "block"), nil),
			"Conditional Access", posture.Pass, []string{"client apps exchangeActiveSync, other only"}},
		{"report-only block is listed apart",
			policy("p12", "Pilot: block", "enabledForReportingButNotEnforced", allApps(nil), grant("OR", "block"), nil),
			"Conditional Access (report-only)", posture.Finding, []string{`"Pilot: block"`, "block access"}},
		{"disabled policy without the exclusion is a note",
			policy("p13", "Old block", "disabled", allApps(nil), grant("OR", "block"), nil),
			"Conditional Access (disabled)", posture.Pass, []string{"note", `"Old block"`}},
		{"admin portals through a group",
			func() graphemu.CAPolicy {
				p := policy("p14", "Admin portals: compliant", "enabled", map[string]any{"applications": map[string]any{
					"includeApplications": []any{"MicrosoftAdminPortals"}}}, grant("OR", "compliantDevice"), nil)
				p.IncludeUsers, p.IncludeGroups = nil, []string{"g-admins"}
				return p
			}(),
			"Conditional Access", posture.Finding, []string{"through group g-admins", "a compliant device"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ten, uid := tenant(t, func(st *graphemu.State, uid string) {
				st.Groups = append(st.Groups, graphemu.Group{ID: "g-admins", DisplayName: "Admins", Members: []string{uid}})
				st.CAPolicies = append(st.CAPolicies, tc.pol)
			})
			checks := audit(t, ten, uid, simAAGUID)
			var got []string
			for _, c := range checks {
				if c.Name == tc.check && c.Status == tc.status && containsAll(c.Detail, tc.parts) {
					return
				}
				got = append(got, c.Name+" "+c.Status+" "+c.Detail)
			}
			t.Fatalf("want %s %s with %q; got\n%s", tc.check, tc.status, tc.parts, strings.Join(got, "\n"))
		})
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// The recommended protection: an authentication strength that admits the
// keys. A custom strength whose FIDO2 combination configuration does not
// list the keys' model locks the account out; one that lists it protects
// it; without any such policy, a finding.
func TestPhishingResistantStrength(t *testing.T) {
	strength := func(aaguids ...any) func(st *graphemu.State, uid string) {
		return func(st *graphemu.State, uid string) {
			// Graph: authenticationStrengthPolicy and fido2CombinationConfiguration
			// (microsoft-graph-docs-contrib api-reference/v1.0/resources/
			// fido2combinationconfiguration.md: allowedAAGUIDs).
			if st.Directory == nil {
				st.Directory = map[string][]map[string]any{}
			}
			st.Directory["authenticationStrengthPolicies"] = []map[string]any{{"id": "custom-keys", "displayName": "Keys of our model",
				"policyType": "custom", "allowedCombinations": []any{"fido2"},
				"combinationConfigurations": []any{map[string]any{"@odata.type": "#microsoft.graph.fido2CombinationConfiguration",
					"id": "cc1", "appliesToCombinations": []any{"fido2"}, "allowedAAGUIDs": aaguids}}}}
			for i := range st.CAPolicies {
				if st.CAPolicies[i].ID == "ca-breakglass-phr" {
					g := st.CAPolicies[i].Raw["grantControls"].(map[string]any)
					g["authenticationStrength"] = map[string]any{"id": "custom-keys", "displayName": "Keys of our model",
						"policyType": "custom", "allowedCombinations": []any{"fido2"}}
				}
			}
		}
	}
	ten, uid := tenant(t, strength("ee882879-721c-4913-9775-3dfcce97072a"))
	checks := audit(t, ten, uid, simAAGUID)
	want(t, checks, "Conditional Access", posture.Finding, "Keys of our model", "does not allow AAGUID "+simAAGUID)
	want(t, checks, "Conditional Access (phishing-resistant)", posture.Finding, "no enabled policy")

	ten, uid = tenant(t, strength(strings.ToUpper(simAAGUID)))
	checks = audit(t, ten, uid, simAAGUID)
	want(t, checks, "Conditional Access", posture.Pass, "Keys of our model")
	want(t, checks, "Conditional Access (phishing-resistant)", posture.Pass, "Emergency access: phishing-resistant MFA")

	ten, uid = tenant(t, func(st *graphemu.State, uid string) {
		var keep []graphemu.CAPolicy
		for _, p := range st.CAPolicies {
			if p.ID != "ca-breakglass-phr" {
				keep = append(keep, p)
			}
		}
		st.CAPolicies = keep
	})
	want(t, audit(t, ten, uid, simAAGUID), "Conditional Access (phishing-resistant)", posture.Finding, "no enabled policy")
}

// Entra's What If is asked about Azure management. Its "application"
// answer is a disagreement for a policy that takes in Azure management
// (the audit missed something), not for one that leaves it out and reaches
// the sign-in through another admin application (Entra answered for a
// different sign-in); "users" always is.
func TestWhatIfApplicationReason(t *testing.T) {
	user := &enroll.User{ID: "u1", UPN: "bg@contoso.onmicrosoft.com"}
	for _, tc := range []struct {
		name    string
		exclude []string
		reason  string
		status  string
	}{
		{"all applications", nil, "application", posture.Finding},
		{"all but Azure management", []string{"797f4846-ba00-4fd7-ba43-dac1f8f63013"}, "application", posture.Pass},
		{"users", []string{"797f4846-ba00-4fd7-ba43-dac1f8f63013"}, "users", posture.Finding},
	} {
		p := enroll.CAPolicy{ID: "p1", Name: "Compliant device", State: "enabled", IncludeUsers: []string{"All"},
			IncludeApps: []string{"All"}, ExcludeApps: tc.exclude, Grant: []string{"compliantDevice"}}
		w := p
		w.Applies, w.AnalysisReasons = false, tc.reason
		checks := posture.Evaluate(&posture.Snapshot{User: user, Roles: &enroll.Roles{}, Policies: []enroll.CAPolicy{p},
			WhatIf: []enroll.CAPolicy{w}, FIDO2: &enroll.FIDO2Policy{State: "enabled", IncludeTargets: []string{"all_users"}}})
		if c := find(checks, "Conditional Access (What If)"); c.Status != tc.status {
			t.Errorf("%s: %s %q, want %s", tc.name, c.Status, c.Detail, tc.status)
		}
	}
}

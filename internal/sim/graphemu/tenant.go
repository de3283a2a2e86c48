package graphemu

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/keyceremony/keyceremony/internal/tenantfile"
)

// tenantFile is the tenant file (internal/tenantfile): the tenant in
// Graph's own response shapes, which LoadTenant serves.
type tenantFile = tenantfile.File

// obj is one Graph object as JSON.
type obj = tenantfile.Object

// Directory collections the emulator serves as loaded (State.Directory keys).
const (
	dirOrganization   = "organization"
	dirRoles          = "directoryRoles"
	dirAdminUnits     = "administrativeUnits"
	dirStrengths      = "authenticationStrengthPolicies"
	dirDomains        = "domains"
	dirSubscribedSkus = "subscribedSkus"
	// PIM for Groups' schedule instances, under their own path names.
	dirPIMGroupEligible = "eligibilityScheduleInstances"
	dirPIMGroupAssigned = "assignmentScheduleInstances"
)

// LoadTenant reads a tenant file (Graph's response shapes, see tenantFile)
// into the emulator's state. What it cannot read is an error naming the
// collection and the item; nothing is guessed.
func LoadTenant(b []byte) (*State, error) {
	var f tenantFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("tenant file: %w", err)
	}
	if len(f.Users) == 0 {
		return nil, fmt.Errorf("tenant file: no users (the first user is the break-glass account)")
	}
	st := &State{
		TenantID:     DefaultState().TenantID,
		Methods:      map[string][]*Method{},
		OtherMethods: map[string][]OtherMethod{},
		Challenges:   map[string]*challenge{},
		Directory:    map[string][]obj{},
	}
	if len(f.Organization) > 0 {
		st.TenantID = str(f.Organization[0], "id")
	}
	for _, d := range f.Domains {
		if d["isInitial"] == true {
			st.Domain = str(d, "id")
		}
	}
	for i, u := range f.Users {
		if str(u, "id") == "" || str(u, "userPrincipalName") == "" {
			return nil, fmt.Errorf("tenant file: users[%d] has no id or userPrincipalName", i)
		}
		st.Users = append(st.Users, userFrom(u))
	}
	for i, g := range f.Groups {
		if str(g, "id") == "" {
			return nil, fmt.Errorf("tenant file: groups[%d] has no id", i)
		}
		grp := Group{
			ID:          str(g, "id"),
			DisplayName: str(g, "displayName"),
			Members:     []string{},
			Extra:       without(g, "members"),
		}
		for _, m := range objs(g["members"]) {
			grp.Members = append(grp.Members, str(m, "id"))
		}
		st.Groups = append(st.Groups, grp)
	}
	for _, a := range f.RoleAssignments {
		st.RoleAssignments = append(
			st.RoleAssignments,
			RoleAssignment{ID: str(a, "id"), PrincipalID: str(a, "principalId"),
				RoleDefinitionID: str(a, "roleDefinitionId"), DirectoryScopeID: str(a, "directoryScopeId")},
		)
	}
	var err error
	if st.RoleEligibilities, err = schedulesFrom("roleEligibilitySchedules", f.RoleEligibilitySchedules); err != nil {
		return nil, err
	}
	if st.AssignmentSched, err = schedulesFrom("roleAssignmentSchedules", f.RoleAssignmentSchedules); err != nil {
		return nil, err
	}
	for i, p := range f.CAPolicies {
		if str(p, "id") == "" {
			return nil, fmt.Errorf("tenant file: conditionalAccessPolicies[%d] has no id", i)
		}
		cond, _ := p["conditions"].(obj)
		users, _ := cond["users"].(obj)
		st.CAPolicies = append(
			st.CAPolicies,
			CAPolicy{ID: str(p, "id"), DisplayName: str(p, "displayName"), State: str(p, "state"),
				IncludeUsers: strs(users["includeUsers"]), ExcludeUsers: strs(users["excludeUsers"]),
				IncludeGroups: strs(users["includeGroups"]), ExcludeGroups: strs(users["excludeGroups"]),
				IncludeRoles: strs(users["includeRoles"]), ExcludeRoles: strs(users["excludeRoles"]), Raw: p},
		)
	}
	if st.FIDO2, err = fido2From(f.MethodsPolicy); err != nil {
		return nil, err
	}
	st.MethodsPolicy = f.MethodsPolicy
	for i, s := range f.SignIns {
		t, err := when(s, "createdDateTime")
		if err != nil {
			return nil, fmt.Errorf("tenant file: signIns[%d]: %w", i, err)
		}
		status, _ := s["status"].(obj)
		code, _ := status["errorCode"].(float64)
		st.SignIns = append(st.SignIns, SignIn{ID: str(s, "id"), CreatedDateTime: t, UserID: str(s, "userId"),
			UserPrincipalName: str(
				s,
				"userPrincipalName",
			), AppDisplayName: str(s, "appDisplayName"), IPAddress: str(s, "ipAddress"),
			ErrorCode: int(code), FailureReason: str(status, "failureReason"), Extra: s})
	}
	for i, a := range f.DirectoryAudits {
		t, err := when(a, "activityDateTime")
		if err != nil {
			return nil, fmt.Errorf("tenant file: directoryAudits[%d]: %w", i, err)
		}
		ev := DirectoryAudit{ID: str(a, "id"), ActivityDateTime: t, ActivityDisplayName: str(a, "activityDisplayName"),
			Category: str(a, "category"), Result: str(a, "result"), TargetIDs: []string{}, Extra: a}
		for _, r := range objs(a["targetResources"]) {
			ev.TargetIDs = append(ev.TargetIDs, str(r, "id"))
		}
		by, _ := a["initiatedBy"].(obj)
		if u, ok := by["user"].(obj); ok {
			ev.InitiatedByUPN = str(u, "userPrincipalName")
		}
		if app, ok := by["app"].(obj); ok {
			ev.InitiatedByApp = str(app, "displayName")
		}
		st.DirectoryAudits = append(st.DirectoryAudits, ev)
	}
	for userID, ms := range f.AuthenticationMethods {
		for i, m := range ms {
			typ := str(m, "@odata.type")
			if typ != "#microsoft.graph.fido2AuthenticationMethod" {
				st.OtherMethods[userID] = append(
					st.OtherMethods[userID],
					OtherMethod{ODataType: typ, ID: str(m, "id"), Extra: m},
				)
				continue
			}
			t, err := when(m, "createdDateTime")
			if err != nil {
				return nil, fmt.Errorf("tenant file: authenticationMethods[%s][%d]: %w", userID, i, err)
			}
			// Graph does not return a credential ID; the method ID stands
			// in for it in the emulator's excludeCredentials.
			st.Methods[userID] = append(
				st.Methods[userID],
				&Method{ID: str(m, "id"), DisplayName: str(m, "displayName"),
					CreatedDateTime: t, AAGUID: strings.ToLower(str(m, "aaGuid")), Model: str(m, "model"),
					AttestationCertificates: strs(
						m["attestationCertificates"],
					), AttestationLevel: str(m, "attestationLevel"),
					CredentialID: str(m, "id")},
			)
		}
	}
	st.NoEntraP2 = withoutP2(f.SubscribedSkus)
	st.NoEntraPremium = withoutPremium(f.SubscribedSkus)
	for key, list := range map[string][]obj{
		dirOrganization: f.Organization, dirRoles: f.DirectoryRoles, dirAdminUnits: f.AdministrativeUnits,
		dirStrengths: f.StrengthPolicies, dirDomains: f.Domains, dirSubscribedSkus: f.SubscribedSkus,
		dirPIMGroupEligible: f.GroupEligibilityInstances, dirPIMGroupAssigned: f.GroupAssignmentInstances} {
		if list != nil {
			st.Directory[key] = list
		}
	}
	return st, nil
}

// withoutP2 reports whether a tenant's subscribed SKUs (when the file has
// them) carry no Entra ID P2 service plan, as ScubaGear decides it
// (cisagov/ScubaGear, PowerShell/ScubaGear/Rego/Utils/AAD.rego: a service
// plan named AAD_PREMIUM_P2; commit 4d34e9a48e38ce5c2e14c0fdfbaee53e57594ae2).
// Such a tenant's PIM APIs answer 400 AadPremiumLicenseRequired. A file
// without subscribedSkus says nothing of the licence: P2 is kept.
func withoutP2(skus []obj) bool {
	if len(skus) == 0 {
		return false
	}
	for _, s := range skus {
		for _, p := range objs(s["servicePlans"]) {
			if str(p, "servicePlanName") == "AAD_PREMIUM_P2" {
				return false
			}
		}
	}
	return true
}

// withoutPremium reports whether a tenant's subscribed SKUs (when the file
// has them) carry neither Entra ID P1 (service plan AAD_PREMIUM) nor P2
// (AAD_PREMIUM_P2): Graph then keeps sign-in and audit logs 7 days.
func withoutPremium(skus []obj) bool {
	if len(skus) == 0 {
		return false
	}
	for _, s := range skus {
		for _, p := range objs(s["servicePlans"]) {
			if n := str(p, "servicePlanName"); n == "AAD_PREMIUM" || n == "AAD_PREMIUM_P2" {
				return false
			}
		}
	}
	return true
}

// userFrom reads a user object: the fields the emulator judges by, and
// every other property kept as returned.
func userFrom(u obj) *User {
	out := &User{ID: str(u, "id"), UserPrincipalName: str(u, "userPrincipalName"), DisplayName: str(u, "displayName"),
		PasswordPolicies: str(u, "passwordPolicies"), UserType: str(u, "userType"),
		Extra: without(
			u,
			"id",
			"userPrincipalName",
			"displayName",
			"passwordPolicies",
			"userType",
			"onPremisesSyncEnabled",
			"accountEnabled",
		)}
	if b, ok := u["onPremisesSyncEnabled"].(bool); ok {
		out.OnPremisesSyncEnabled = &b
	}
	if b, ok := u["accountEnabled"].(bool); ok {
		out.AccountEnabled = &b
	}
	return out
}

// schedulesFrom reads PIM schedules (unifiedRoleEligibilitySchedule,
// unifiedRoleAssignmentSchedule): scheduleInfo.expiration.endDateTime.
func schedulesFrom(what string, list []obj) ([]RoleSchedule, error) {
	var out []RoleSchedule
	for i, s := range list {
		rs := RoleSchedule{
			ID:               str(s, "id"),
			PrincipalID:      str(s, "principalId"),
			RoleDefinitionID: str(s, "roleDefinitionId"),
			DirectoryScopeID: str(s, "directoryScopeId"),
			Status:           str(s, "status"),
		}
		info, _ := s["scheduleInfo"].(obj)
		rs.ScheduleInfo = info
		exp, _ := info["expiration"].(obj)
		if end := str(exp, "endDateTime"); end != "" && str(exp, "type") != "noExpiration" {
			t, err := time.Parse(time.RFC3339, end)
			if err != nil {
				return nil, fmt.Errorf("tenant file: %s[%d]: endDateTime: %w", what, i, err)
			}
			rs.EndDateTime = &t
		}
		out = append(out, rs)
	}
	return out, nil
}

// fido2From reads the FIDO2 (passkey) configuration out of the
// authentication methods policy (authenticationMethodConfigurations, id
// "Fido2"): state, self-service, attestation, key restrictions, include and
// exclude targets, passkey profiles.
func fido2From(policy obj) (FIDO2Policy, error) {
	var p FIDO2Policy
	var cfg obj
	for _, c := range objs(policy["authenticationMethodConfigurations"]) {
		if strings.EqualFold(str(c, "id"), "Fido2") {
			cfg = c
		}
	}
	if cfg == nil {
		return FIDO2Policy{State: "disabled"}, nil
	}
	p.State = str(cfg, "state")
	p.IsSelfServiceRegistrationAllowed, _ = cfg["isSelfServiceRegistrationAllowed"].(bool)
	p.IsAttestationEnforced, _ = cfg["isAttestationEnforced"].(bool)
	if kr, ok := cfg["keyRestrictions"].(obj); ok {
		p.KeyRestrictionsEnforced, _ = kr["isEnforced"].(bool)
		p.EnforcementType, p.AAGUIDs = str(kr, "enforcementType"), lowerAll(strs(kr["aaGuids"]))
	}
	p.TargetProfiles = map[string][]string{}
	for _, t := range objs(cfg["includeTargets"]) {
		p.IncludeTargetIDs = append(p.IncludeTargetIDs, str(t, "id"))
		if ids := strs(t["allowedPasskeyProfiles"]); len(ids) > 0 {
			p.TargetProfiles[str(t, "id")] = ids
		}
	}
	for _, t := range objs(cfg["excludeTargets"]) {
		p.ExcludeTargetIDs = append(p.ExcludeTargetIDs, str(t, "id"))
	}
	for _, pp := range objs(cfg["passkeyProfiles"]) {
		prof := PasskeyProfile{ID: str(pp, "id"), Name: str(pp, "name"), PasskeyTypes: str(pp, "passkeyTypes"),
			AttestationEnforcement: str(pp, "attestationEnforcement")}
		if kr, ok := pp["keyRestrictions"].(obj); ok {
			prof.KeyRestrictionsEnforced, _ = kr["isEnforced"].(bool)
			prof.EnforcementType, prof.AAGUIDs = str(kr, "enforcementType"), lowerAll(strs(kr["aaGuids"]))
		}
		p.PasskeyProfiles = append(p.PasskeyProfiles, prof)
	}
	p.DefaultProfile = str(cfg, "defaultPasskeyProfile")
	return p, nil
}

func str(o obj, k string) string {
	s, _ := o[k].(string)
	return s
}

func strs(v any) []string {
	var out []string
	for _, x := range anys(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func anys(v any) []any {
	l, _ := v.([]any)
	return l
}

func objs(v any) []obj {
	var out []obj
	for _, x := range anys(v) {
		if o, ok := x.(obj); ok {
			out = append(out, o)
		}
	}
	return out
}

func lowerAll(l []string) []string {
	for i := range l {
		l[i] = strings.ToLower(l[i])
	}
	return l
}

// without is a copy of o without the named keys.
func without(o obj, keys ...string) obj {
	out := obj{}
	for k, v := range o {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// when reads a date-time property (RFC 3339, as Graph writes it).
func when(o obj, k string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, str(o, k))
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", k, err)
	}
	return t, nil
}

package enroll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"
)

// Read-only posture and monitoring queries for the health check. Each needs
// only read permissions (listed in the README); a 403 comes back as a
// *GraphError so the audit can say "could not check" with the permission.

// RoleAssignment is an active directory role assignment (PrincipalID set
// only in Roles.GlobalAdmins: the account's own leave it empty).
type RoleAssignment struct {
	RoleDefinitionID string `json:"role_definition_id"`
	Scope            string `json:"scope"`
	PrincipalID      string `json:"principal_id,omitempty"`
}

// RoleSchedule is a PIM schedule (eligible, or active with an end date).
type RoleSchedule struct {
	RoleDefinitionID string     `json:"role_definition_id"`
	Status           string     `json:"status"`
	Expires          *time.Time `json:"expires,omitempty"` // nil: no expiration
}

// Roles are the account's role assignments, eligibilities and schedules.
type Roles struct {
	Active      []RoleAssignment `json:"active"`
	Eligible    []RoleSchedule   `json:"eligible"`
	ActiveSched []RoleSchedule   `json:"active_schedules"`
	// PIMUnlicensed: the PIM APIs answered 400 AadPremiumLicenseRequired
	// (a tenant without Entra ID P2), so Active came from roleAssignments
	// alone and there are no eligibilities or schedules to read.
	PIMUnlicensed bool `json:"pim_unlicensed,omitempty"`
	// GlobalAdmins are the tenant's active Global Administrator
	// assignments, to anyone (users or role-assignable groups): the
	// account may hold the role through a group, and the tenant's count
	// matters (ScubaGear and Maester MS.AAD.7.1: 2 to 8).
	GlobalAdmins []RoleAssignment `json:"global_admins,omitempty"`
	// GroupEligible are the groups in which the account is only eligible
	// for membership through PIM for Groups, GroupActive those in which it
	// is an active member through PIM for Groups (IDs; "member" access).
	GroupEligible []string `json:"pim_group_eligible,omitempty"`
	GroupActive   []string `json:"pim_group_active,omitempty"`
	// GroupActiveExpires: when an active membership through PIM for
	// Groups ends, by group ID (absent: no end).
	GroupActiveExpires map[string]time.Time `json:"pim_group_active_expires,omitempty"`
	// GroupPIMUnread says why PIM for Groups could not be read ("": read):
	// AadPremiumLicenseRequired on a tenant without Entra ID P2 (nothing to
	// read, no evidence either way), or a refused permission.
	GroupPIMUnread string `json:"pim_group_unread,omitempty"`
	// GroupPIMUnlicensed: PIM for Groups answered AadPremiumLicenseRequired
	// (no PIM, so no time-bound membership either).
	GroupPIMUnlicensed bool `json:"pim_group_unlicensed,omitempty"`
}

// pimUnlicensed reports whether err is the PIM APIs' answer on a tenant
// without Entra ID P2: 400 AadPremiumLicenseRequired (Microsoft Graph,
// "Use PIM APIs to manage Microsoft Entra roles": PIM needs Entra ID P2).
func pimUnlicensed(err error) bool {
	ge, ok := asGraphError(err)
	if !ok {
		var e *GraphError
		ok = errors.As(err, &e)
		ge = e
	}
	return ok && ge.Status == 400 && strings.EqualFold(ge.Code, "AadPremiumLicenseRequired")
}

// roleGlobalAdministrator is the Global Administrator role template ID.
const roleGlobalAdministrator = "62e90394-69f5-4237-9190-012177145e10"

func principalFilter(id string) *string {
	f := fmt.Sprintf("principalId eq '%s'", strings.ReplaceAll(id, "'", "''"))
	return &f
}

// RolesOf reads the account's directory roles (RoleManagement.Read.Directory).
func (c *Client) RolesOf(ctx context.Context, userID string) (*Roles, error) {
	var out Roles
	err := c.retryRead(ctx, "role assignments", func() error {
		out = Roles{}
		ra, err := c.graph.RoleManagement().
			Directory().
			RoleAssignments().
			Get(ctx, &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetRequestConfiguration{
				QueryParameters: &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetQueryParameters{
					Filter: principalFilter(userID),
				}})
		if err != nil {
			return err
		}
		err = eachItem(
			ctx,
			c,
			"role assignments",
			ra,
			models.CreateUnifiedRoleAssignmentCollectionResponseFromDiscriminatorValue,
			func(a models.UnifiedRoleAssignmentable) {
				out.Active = append(
					out.Active,
					RoleAssignment{
						RoleDefinitionID: deref(a.GetRoleDefinitionId()),
						Scope:            deref(a.GetDirectoryScopeId()),
					},
				)
			},
		)
		if err != nil {
			return err
		}
		gaFilter := "roleDefinitionId eq '" + roleGlobalAdministrator + "'"
		ga, err := c.graph.RoleManagement().
			Directory().
			RoleAssignments().
			Get(ctx, &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetRequestConfiguration{
				QueryParameters: &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetQueryParameters{
					Filter: &gaFilter,
				}})
		if err != nil {
			return err
		}
		err = eachItem(
			ctx,
			c,
			"Global Administrator assignments",
			ga,
			models.CreateUnifiedRoleAssignmentCollectionResponseFromDiscriminatorValue,
			func(a models.UnifiedRoleAssignmentable) {
				out.GlobalAdmins = append(
					out.GlobalAdmins,
					RoleAssignment{RoleDefinitionID: deref(a.GetRoleDefinitionId()),
						Scope: deref(a.GetDirectoryScopeId()), PrincipalID: deref(a.GetPrincipalId())},
				)
			},
		)
		if err != nil {
			return err
		}
		// PIM for Groups: a role-assignable group holding Global
		// Administrator in which the account is only eligible is no
		// active role. Its read failing is said, never taken as "none".
		if err := c.pimGroups(ctx, userID, &out); err != nil {
			out.GroupPIMUnread = describe(err).Error()
			if pimUnlicensed(err) {
				out.GroupPIMUnread = "the tenant has no Entra ID P2 (AadPremiumLicenseRequired)"
				out.GroupPIMUnlicensed = true
			}
		}
		el, err := c.graph.RoleManagement().
			Directory().
			RoleEligibilitySchedules().
			Get(ctx, &rolemanagement.DirectoryRoleEligibilitySchedulesRequestBuilderGetRequestConfiguration{
				QueryParameters: &rolemanagement.DirectoryRoleEligibilitySchedulesRequestBuilderGetQueryParameters{
					Filter: principalFilter(userID),
				}})
		if err != nil && pimUnlicensed(err) {
			out.PIMUnlicensed = true // active roles read through roleAssignments above
			return nil
		}
		if err != nil {
			return err
		}
		err = eachItem(
			ctx,
			c,
			"role eligibility schedules",
			el,
			models.CreateUnifiedRoleEligibilityScheduleCollectionResponseFromDiscriminatorValue,
			func(s models.UnifiedRoleEligibilityScheduleable) {
				out.Eligible = append(
					out.Eligible,
					schedule(deref(s.GetRoleDefinitionId()), deref(s.GetStatus()), s.GetScheduleInfo()),
				)
			},
		)
		if err != nil {
			return err
		}
		as, err := c.graph.RoleManagement().
			Directory().
			RoleAssignmentSchedules().
			Get(ctx, &rolemanagement.DirectoryRoleAssignmentSchedulesRequestBuilderGetRequestConfiguration{
				QueryParameters: &rolemanagement.DirectoryRoleAssignmentSchedulesRequestBuilderGetQueryParameters{
					Filter: principalFilter(userID),
				}})
		if err != nil {
			return err
		}
		return eachItem(
			ctx,
			c,
			"role assignment schedules",
			as,
			models.CreateUnifiedRoleAssignmentScheduleCollectionResponseFromDiscriminatorValue,
			func(s models.UnifiedRoleAssignmentScheduleable) {
				out.ActiveSched = append(
					out.ActiveSched,
					schedule(deref(s.GetRoleDefinitionId()), deref(s.GetStatus()), s.GetScheduleInfo()),
				)
			},
		)
	})
	return &out, err
}

// CAPolicy is a Conditional Access policy as the audit needs it.
type CAPolicy struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	State         string   `json:"state"`
	IncludeUsers  []string `json:"include_users"`
	IncludeGroups []string `json:"include_groups"`
	ExcludeUsers  []string `json:"exclude_users"`
	ExcludeGroups []string `json:"exclude_groups"`
	IncludeRoles  []string `json:"include_roles"` // directory role template IDs
	ExcludeRoles  []string `json:"exclude_roles"`
	// The other conditions (Graph: conditionalAccessConditionSet).
	IncludeApps      []string `json:"include_apps,omitempty"`
	ExcludeApps      []string `json:"exclude_apps,omitempty"`
	UserActions      []string `json:"user_actions,omitempty"`
	AuthContexts     []string `json:"auth_contexts,omitempty"`
	ClientAppTypes   []string `json:"client_app_types,omitempty"`
	IncludePlatforms []string `json:"include_platforms,omitempty"`
	ExcludePlatforms []string `json:"exclude_platforms,omitempty"`
	IncludeLocations []string `json:"include_locations,omitempty"`
	ExcludeLocations []string `json:"exclude_locations,omitempty"`
	SignInRisk       []string `json:"sign_in_risk,omitempty"`
	UserRisk         []string `json:"user_risk,omitempty"`
	DeviceFilter     string   `json:"device_filter,omitempty"` // "include: rule" or "exclude: rule"
	// TransferMethods are the authentication flows the policy is limited
	// to (Graph: conditionalAccessAuthenticationFlows transferMethods,
	// e.g. deviceCodeFlow, authenticationTransfer); none: every flow.
	TransferMethods []string `json:"transfer_methods,omitempty"`
	// Grant controls (Graph: conditionalAccessGrantControls).
	Grant         []string `json:"grant,omitempty"` // builtInControls: block, mfa, compliantDevice, …
	GrantOperator string   `json:"grant_operator,omitempty"`
	TermsOfUse    []string `json:"terms_of_use,omitempty"`
	// CustomControls are the custom controls (third-party MFA) the policy
	// requires (Graph: conditionalAccessGrantControls
	// customAuthenticationFactors): the keys satisfy none of them.
	CustomControls []string `json:"custom_controls,omitempty"`
	// The authentication strength the policy requires, if any: its
	// allowed combinations and, for a custom strength, the FIDO2 AAGUIDs
	// its combination configuration allows (none listed: any).
	StrengthID           string   `json:"strength_id,omitempty"`
	StrengthName         string   `json:"strength_name,omitempty"`
	StrengthCombinations []string `json:"strength_combinations,omitempty"`
	StrengthFIDO2AAGUIDs []string `json:"strength_fido2_aaguids,omitempty"`
	// StrengthUnread says why the strength's combination configurations
	// could not be read ("": read, or none to read).
	StrengthUnread string `json:"strength_unread,omitempty"`
	// Session lists the session controls the policy sets.
	Session []string `json:"session,omitempty"`
	// TokenProtection: the policy requires token protection for sign-in
	// sessions (Graph: conditionalAccessSessionControls
	// secureSignInSession), which only a registered Windows device meets.
	TokenProtection bool `json:"token_protection,omitempty"`
	// Applies and AnalysisReasons are Entra's own What If answer for the
	// policy (whatIfAnalysisResult policyApplies, analysisReasons), set
	// only in WhatIf's results.
	Applies         bool   `json:"applies,omitempty"`
	AnalysisReasons string `json:"analysis_reasons,omitempty"`
}

// GroupsOf lists the IDs of the groups that hold the user, directly or
// through nested groups (TransitiveGroups; GroupMember.Read.All).
func (c *Client) GroupsOf(ctx context.Context, userID string) ([]string, error) {
	groups, err := c.TransitiveGroups(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, g := range groups {
		out = append(out, deref(g.GetId()))
	}
	return out, nil
}

// ConditionalAccessPolicies lists the tenant's CA policies (Policy.Read.All).
func (c *Client) ConditionalAccessPolicies(ctx context.Context) ([]CAPolicy, error) {
	var out []CAPolicy
	err := c.retryRead(ctx, "conditional access policies", func() error {
		out = nil
		resp, err := c.graph.Identity().ConditionalAccess().Policies().Get(ctx, nil)
		if err != nil {
			return err
		}
		return eachItem(
			ctx,
			c,
			"conditional access policies",
			resp,
			models.CreateConditionalAccessPolicyCollectionResponseFromDiscriminatorValue,
			func(p models.ConditionalAccessPolicyable) {
				cp := CAPolicy{ID: deref(p.GetId()), Name: deref(p.GetDisplayName())}
				if s := p.GetState(); s != nil {
					cp.State = s.String()
				}
				if cond := p.GetConditions(); cond != nil && cond.GetUsers() != nil {
					u := cond.GetUsers()
					cp.IncludeUsers, cp.ExcludeUsers = u.GetIncludeUsers(), u.GetExcludeUsers()
					cp.IncludeGroups, cp.ExcludeGroups = u.GetIncludeGroups(), u.GetExcludeGroups()
					cp.IncludeRoles, cp.ExcludeRoles = u.GetIncludeRoles(), u.GetExcludeRoles()
				}
				caConditions(p, &cp)
				out = append(out, cp)
			},
		)
	})
	if err != nil {
		return nil, err // never part of a collection
	}
	// A custom strength's FIDO2 combination configuration (which keys it
	// allows) is its own resource; built-in strengths have none.
	for i := range out {
		p := &out[i]
		if p.StrengthID == "" || len(p.StrengthFIDO2AAGUIDs) > 0 || !slices.Contains(p.StrengthCombinations, "fido2") ||
			strings.HasPrefix(p.StrengthID, "00000000-0000-0000-0000-") {
			continue
		}
		aaguids, err := c.strengthConfigs(ctx, p.StrengthID)
		if err != nil {
			p.StrengthUnread = err.Error()
			continue
		}
		p.StrengthFIDO2AAGUIDs = aaguids
	}
	return out, nil
}

// FIDO2Policy is the FIDO2 (passkey) authentication method configuration,
// in either shape Entra serves: the legacy tenant-wide key restrictions and
// attestation flag, or passkey profiles applied to include targets.
type FIDO2Policy struct {
	State                   string   `json:"state"`
	SelfServiceAllowed      bool     `json:"self_service_allowed"`
	AttestationEnforced     bool     `json:"attestation_enforced"`
	KeyRestrictionsEnforced bool     `json:"key_restrictions_enforced"`
	EnforcementType         string   `json:"enforcement_type"`
	AAGUIDs                 []string `json:"aaguids"`
	IncludeTargets          []string `json:"include_targets"`
	// ExcludeTargets are the groups the method is turned off for: exclude
	// wins over include (Graph: fido2AuthenticationMethodConfiguration
	// excludeTargets; Microsoft Learn, "Manage authentication methods").
	ExcludeTargets []string         `json:"exclude_targets,omitempty"`
	Profiles       []passkeyProfile `json:"passkey_profiles,omitempty"`
	DefaultProfile string           `json:"default_passkey_profile,omitempty"`
	// TargetProfiles maps an include target to the profiles it allows.
	TargetProfiles map[string][]string `json:"target_profiles,omitempty"`
}

// passkeyProfile is one passkey profile (Graph: passkeyProfile); its
// fields are read through FIDO2Policy.Profiles.
type passkeyProfile struct {
	ID                      string   `json:"id"`
	Name                    string   `json:"name"`
	PasskeyTypes            string   `json:"passkey_types"`
	AttestationEnforcement  string   `json:"attestation_enforcement"`
	KeyRestrictionsEnforced bool     `json:"key_restrictions_enforced"`
	EnforcementType         string   `json:"enforcement_type"`
	AAGUIDs                 []string `json:"aaguids"`
}

// policyJSON is the configuration as Graph returns it.
type policyJSON struct {
	State                            string `json:"state"`
	IsSelfServiceRegistrationAllowed bool   `json:"isSelfServiceRegistrationAllowed"`
	IsAttestationEnforced            bool   `json:"isAttestationEnforced"`
	KeyRestrictions                  *restrictionsJSON
	IncludeTargets                   []struct {
		ID                     string   `json:"id"`
		AllowedPasskeyProfiles []string `json:"allowedPasskeyProfiles"`
	} `json:"includeTargets"`
	ExcludeTargets []struct {
		ID string `json:"id"`
	} `json:"excludeTargets"`
	PasskeyProfiles []struct {
		ID                     string            `json:"id"`
		Name                   string            `json:"name"`
		PasskeyTypes           string            `json:"passkeyTypes"`
		AttestationEnforcement string            `json:"attestationEnforcement"`
		KeyRestrictions        *restrictionsJSON `json:"keyRestrictions"`
	} `json:"passkeyProfiles"`
	DefaultPasskeyProfile string `json:"defaultPasskeyProfile"`
}

type restrictionsJSON struct {
	IsEnforced      bool     `json:"isEnforced"`
	EnforcementType string   `json:"enforcementType"`
	AAGuids         []string `json:"aaGuids"`
}

// FIDO2MethodPolicy reads the FIDO2 method configuration (Policy.Read.All)
// from the beta endpoint, which carries passkey profiles.
func (c *Client) FIDO2MethodPolicy(ctx context.Context) (*FIDO2Policy, error) {
	u, err := url.Parse(c.root + "/beta/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2")
	if err != nil {
		return nil, err
	}
	raw, err := c.getJSON(ctx, "FIDO2 method policy", u)
	if err != nil {
		return nil, err
	}
	return parseFIDO2Policy(raw)
}

func parseFIDO2Policy(raw []byte) (*FIDO2Policy, error) {
	var j policyJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("FIDO2 method policy: %w", err)
	}
	lower := func(l []string) []string {
		var out []string
		for _, a := range l {
			out = append(out, strings.ToLower(a))
		}
		return out
	}
	p := &FIDO2Policy{
		State:               j.State,
		SelfServiceAllowed:  j.IsSelfServiceRegistrationAllowed,
		AttestationEnforced: j.IsAttestationEnforced,
		DefaultProfile:      j.DefaultPasskeyProfile,
		TargetProfiles:      map[string][]string{},
	}
	if kr := j.KeyRestrictions; kr != nil {
		p.KeyRestrictionsEnforced, p.EnforcementType, p.AAGUIDs = kr.IsEnforced, kr.EnforcementType, lower(kr.AAGuids)
	}
	for _, t := range j.IncludeTargets {
		p.IncludeTargets = append(p.IncludeTargets, t.ID)
		p.TargetProfiles[t.ID] = t.AllowedPasskeyProfiles
	}
	for _, t := range j.ExcludeTargets {
		p.ExcludeTargets = append(p.ExcludeTargets, t.ID)
	}
	for _, pp := range j.PasskeyProfiles {
		prof := passkeyProfile{
			ID:                     pp.ID,
			Name:                   pp.Name,
			PasskeyTypes:           pp.PasskeyTypes,
			AttestationEnforcement: pp.AttestationEnforcement,
		}
		if kr := pp.KeyRestrictions; kr != nil {
			prof.KeyRestrictionsEnforced, prof.EnforcementType, prof.AAGUIDs = kr.IsEnforced, kr.EnforcementType, lower(
				kr.AAGuids,
			)
		}
		p.Profiles = append(p.Profiles, prof)
	}
	return p, nil
}

// Admits predicts whether Entra will register a device-bound security key
// of model aaguid (attested) for a user in groups: the passkey profiles of
// the include targets that reach the user (Microsoft Learn, passkey
// profiles), or the legacy tenant-wide key restrictions where there are no
// profiles. When it does not, the reason names the profile(s) and the AAGUID.
func (p *FIDO2Policy) Admits(aaguid, userID string, groups []string) (bool, string) {
	aaguid = strings.ToLower(aaguid)
	if p.State != "enabled" {
		return false, fmt.Sprintf("the FIDO2 (passkey) method is %s in the tenant", p.State)
	}
	reaches := func(t string) bool { return t == "all_users" || t == userID || slices.Contains(groups, t) }
	for _, t := range p.ExcludeTargets {
		if reaches(t) {
			return false, fmt.Sprintf("the passkey (FIDO2) policy excludes the account (exclude target %s)", t)
		}
	}
	var targets []string
	for _, t := range p.IncludeTargets {
		if reaches(t) {
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		return false, "the passkey (FIDO2) policy does not target the account (not in its include targets)"
	}
	if len(p.Profiles) == 0 {
		listed := slices.Contains(p.AAGUIDs, aaguid)
		if p.KeyRestrictionsEnforced && (p.EnforcementType == "allow") != listed {
			return false, fmt.Sprintf(
				"the tenant's key restrictions (%s list) do not allow AAGUID %s",
				p.EnforcementType,
				aaguid,
			)
		}
		return true, ""
	}
	allowed := map[string]bool{}
	for _, t := range targets {
		ids := p.TargetProfiles[t]
		if len(ids) == 0 {
			ids = []string{p.DefaultProfile}
		}
		for _, id := range ids {
			allowed[id] = true
		}
	}
	var refused []string
	for _, pp := range p.Profiles {
		if !allowed[pp.ID] {
			continue
		}
		why := ""
		listed := slices.Contains(pp.AAGUIDs, aaguid)
		switch {
		case !strings.Contains(pp.PasskeyTypes, "deviceBound"):
			why = "takes no device-bound passkeys"
		case pp.KeyRestrictionsEnforced && (pp.EnforcementType == "allow") != listed:
			why = fmt.Sprintf("its %s list does not allow AAGUID %s", pp.EnforcementType, aaguid)
		}
		if why == "" {
			return true, ""
		}
		refused = append(refused, fmt.Sprintf("passkey profile %q (%s) %s", pp.Name, pp.ID, why))
	}
	if len(refused) == 0 {
		return false, "no passkey profile applies to the account"
	}
	return false, strings.Join(refused, "; ")
}

// SignIn is one sign-in of the account.
type SignIn struct {
	Time      time.Time `json:"time"`
	App       string    `json:"app"`
	IPAddress string    `json:"ip_address"`
	ErrorCode int32     `json:"error_code"` // 0: success
	Failure   string    `json:"failure,omitempty"`
}

// SignInsSince lists the account's sign-ins since a time (AuditLog.Read.All).
func (c *Client) SignInsSince(ctx context.Context, userID string, since time.Time) ([]SignIn, error) {
	var out []SignIn
	f := fmt.Sprintf(
		"userId eq '%s' and createdDateTime ge %s",
		strings.ReplaceAll(userID, "'", "''"),
		since.UTC().Format(time.RFC3339),
	)
	err := c.retryRead(ctx, "sign-ins", func() error {
		out = nil
		resp, err := c.graph.AuditLogs().SignIns().Get(ctx, &auditlogs.SignInsRequestBuilderGetRequestConfiguration{
			QueryParameters: &auditlogs.SignInsRequestBuilderGetQueryParameters{Filter: &f}})
		if err != nil {
			return err
		}
		return eachItem(
			ctx,
			c,
			"sign-ins",
			resp,
			models.CreateSignInCollectionResponseFromDiscriminatorValue,
			func(s models.SignInable) {
				si := SignIn{App: deref(s.GetAppDisplayName()), IPAddress: deref(s.GetIpAddress())}
				if t := s.GetCreatedDateTime(); t != nil {
					si.Time = *t
				}
				if st := s.GetStatus(); st != nil {
					si.ErrorCode, si.Failure = deref(st.GetErrorCode()), deref(st.GetFailureReason())
				}
				out = append(out, si)
			},
		)
	})
	if err != nil {
		return nil, err // never part of a collection
	}
	return out, nil
}

// AuthMethod is any authentication method of the account.
type AuthMethod struct {
	ID   string `json:"id"`
	Type string `json:"type"` // e.g. #microsoft.graph.passwordAuthenticationMethod
}

// AuthenticationMethods lists every method of the account
// (UserAuthenticationMethod.Read.All).
func (c *Client) AuthenticationMethods(ctx context.Context, userID string) ([]AuthMethod, error) {
	var out []AuthMethod
	err := c.retryRead(ctx, "authentication methods", func() error {
		out = nil
		resp, err := c.graph.Users().ByUserId(userID).Authentication().Methods().Get(ctx, nil)
		if err != nil {
			return err
		}
		return eachItem(
			ctx,
			c,
			"authentication methods",
			resp,
			models.CreateAuthenticationMethodCollectionResponseFromDiscriminatorValue,
			func(m models.AuthenticationMethodable) {
				out = append(out, AuthMethod{ID: deref(m.GetId()), Type: deref(m.GetOdataType())})
			},
		)
	})
	if err != nil {
		return nil, err // never part of a collection
	}
	return out, nil
}

// AuditEvent is a directory audit log event about the account.
type AuditEvent struct {
	Time     time.Time `json:"time"`
	Activity string    `json:"activity"`
	Category string    `json:"category"`
	By       string    `json:"by"` // the user's UPN or the app's name
	Result   string    `json:"result"`
}

// AuditEventsSince lists the directory audit events that targeted the user
// since a time (auditLogs/directoryAudits; AuditLog.Read.All).
func (c *Client) AuditEventsSince(ctx context.Context, userID string, since time.Time) ([]AuditEvent, error) {
	var out []AuditEvent
	f := fmt.Sprintf(
		"activityDateTime ge %s and targetResources/any(t:t/id eq '%s')",
		since.UTC().Format(time.RFC3339),
		strings.ReplaceAll(userID, "'", "''"),
	)
	err := c.retryRead(ctx, "directory audit events", func() error {
		out = nil
		resp, err := c.graph.AuditLogs().
			DirectoryAudits().
			Get(ctx, &auditlogs.DirectoryAuditsRequestBuilderGetRequestConfiguration{
				QueryParameters: &auditlogs.DirectoryAuditsRequestBuilderGetQueryParameters{Filter: &f}})
		if err != nil {
			return err
		}
		return eachItem(
			ctx,
			c,
			"directory audit events",
			resp,
			models.CreateDirectoryAuditCollectionResponseFromDiscriminatorValue,
			func(a models.DirectoryAuditable) {
				ev := AuditEvent{Activity: deref(a.GetActivityDisplayName()), Category: deref(a.GetCategory())}
				if t := a.GetActivityDateTime(); t != nil {
					ev.Time = *t
				}
				if res := a.GetResult(); res != nil {
					ev.Result = res.String()
				}
				if by := a.GetInitiatedBy(); by != nil {
					if u := by.GetUser(); u != nil {
						ev.By = deref(u.GetUserPrincipalName())
					}
					if app := by.GetApp(); ev.By == "" && app != nil {
						ev.By = "app " + deref(app.GetDisplayName())
					}
				}
				out = append(out, ev)
			},
		)
	})
	if err != nil {
		return nil, err // never part of a collection
	}
	return out, nil
}

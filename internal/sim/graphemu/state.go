package graphemu

import (
	"time"
)

// User is a directory user as Graph returns it.
type User struct {
	ID                    string `json:"id"`
	UserPrincipalName     string `json:"userPrincipalName"`
	DisplayName           string `json:"displayName"`
	OnPremisesSyncEnabled *bool  `json:"onPremisesSyncEnabled"`
	PasswordPolicies      string `json:"passwordPolicies,omitempty"`
	UserType              string `json:"userType,omitempty"`
	AccountEnabled        *bool  `json:"accountEnabled,omitempty"`
	// Extra holds the user's other properties as Graph returns them (from a
	// loaded tenant): served beside the fields above, under $select as Graph does.
	Extra map[string]any `json:"extra,omitempty"`
}

// DirectoryAudit is one audit log event about directory objects.
type DirectoryAudit struct {
	ID                  string    `json:"id"`
	ActivityDateTime    time.Time `json:"activityDateTime"`
	ActivityDisplayName string    `json:"activityDisplayName"`
	Category            string    `json:"category"`
	InitiatedByUPN      string    `json:"initiatedByUpn,omitempty"`
	InitiatedByApp      string    `json:"initiatedByApp,omitempty"`
	TargetIDs           []string  `json:"targetIds"`
	Result              string    `json:"result"`
	// Extra holds the event's other properties as Graph returns them.
	Extra map[string]any `json:"extra,omitempty"`
}

// Group is a security group; Members holds user and group IDs (nesting).
type Group struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName"`
	Members     []string `json:"members"`
	// Extra holds the group's other properties as Graph returns them
	// (isAssignableToRole, securityEnabled, …).
	Extra map[string]any `json:"extra,omitempty"`
}

// Method is a stored fido2AuthenticationMethod. CredentialID is the
// emulator's own record (Graph does not return it).
type Method struct {
	ID                      string    `json:"id"`
	DisplayName             string    `json:"displayName"`
	CreatedDateTime         time.Time `json:"createdDateTime"`
	AAGUID                  string    `json:"aaGuid"`
	Model                   string    `json:"model"`
	AttestationCertificates []string  `json:"attestationCertificates"`
	AttestationLevel        string    `json:"attestationLevel"`
	CredentialID            string    `json:"credentialId"`
}

// RoleAssignment is an active directory role assignment.
type RoleAssignment struct {
	ID               string `json:"id"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	DirectoryScopeID string `json:"directoryScopeId"`
}

// RoleSchedule is a PIM schedule: an eligibility (may activate) or an
// assignment schedule (active, possibly with an end date).
type RoleSchedule struct {
	ID               string     `json:"id"`
	PrincipalID      string     `json:"principalId"`
	RoleDefinitionID string     `json:"roleDefinitionId"`
	DirectoryScopeID string     `json:"directoryScopeId"`
	Status           string     `json:"status"`
	EndDateTime      *time.Time `json:"endDateTime,omitempty"` // nil: no expiration
	// ScheduleInfo, when set, is the tenant file's scheduleInfo, served as
	// given: an expiration afterDuration carries a duration and no
	// endDateTime (microsoft-graph-docs-contrib, api-reference/v1.0/
	// resources/expirationpattern.md, commit
	// 296c83fb6c8e4bff4621915a9cc2a24342948a0b).
	ScheduleInfo map[string]any `json:"scheduleInfo,omitempty"`
}

// CAPolicy is a Conditional Access policy (the fields the audit reads).
type CAPolicy struct {
	ID            string   `json:"id"`
	DisplayName   string   `json:"displayName"`
	State         string   `json:"state"`
	IncludeUsers  []string `json:"includeUsers"`
	ExcludeUsers  []string `json:"excludeUsers"`
	IncludeGroups []string `json:"includeGroups,omitempty"`
	ExcludeGroups []string `json:"excludeGroups,omitempty"`
	IncludeRoles  []string `json:"includeRoles,omitempty"`
	ExcludeRoles  []string `json:"excludeRoles,omitempty"`
	// Raw is the whole policy as Graph returns it (every condition, grant
	// and session control); the user conditions above are written over it.
	Raw map[string]any `json:"raw,omitempty"`
}

// FIDO2Policy is the FIDO2 authentication method configuration.
type FIDO2Policy struct {
	State                            string   `json:"state"`
	IsSelfServiceRegistrationAllowed bool     `json:"isSelfServiceRegistrationAllowed"`
	IsAttestationEnforced            bool     `json:"isAttestationEnforced"`
	KeyRestrictionsEnforced          bool     `json:"keyRestrictionsEnforced"`
	EnforcementType                  string   `json:"enforcementType"` // allow or block
	AAGUIDs                          []string `json:"aaGuids"`
	IncludeTargetIDs                 []string `json:"includeTargetIds"`           // "all_users" or group IDs
	ExcludeTargetIDs                 []string `json:"excludeTargetIds,omitempty"` // group IDs
	// Passkey profiles (Graph: passkeyProfile): when there are any, each
	// include target names the profiles its users get (none: the default).
	PasskeyProfiles []PasskeyProfile    `json:"passkeyProfiles,omitempty"`
	DefaultProfile  string              `json:"defaultPasskeyProfile,omitempty"`
	TargetProfiles  map[string][]string `json:"targetProfiles,omitempty"` // target ID → allowed profile IDs
}

// PasskeyProfile is one passkey profile of the FIDO2 method policy.
type PasskeyProfile struct {
	ID                      string   `json:"id"`
	Name                    string   `json:"name"`
	PasskeyTypes            string   `json:"passkeyTypes"`           // "deviceBound", "synced" or both, comma separated
	AttestationEnforcement  string   `json:"attestationEnforcement"` // disabled or registrationOnly
	KeyRestrictionsEnforced bool     `json:"keyRestrictionsEnforced"`
	EnforcementType         string   `json:"enforcementType"` // allow or block
	AAGUIDs                 []string `json:"aaGuids"`
}

// SignIn is one sign-in log entry.
type SignIn struct {
	ID                string    `json:"id"`
	CreatedDateTime   time.Time `json:"createdDateTime"`
	UserID            string    `json:"userId"`
	UserPrincipalName string    `json:"userPrincipalName"`
	AppDisplayName    string    `json:"appDisplayName"`
	IPAddress         string    `json:"ipAddress"`
	ErrorCode         int       `json:"errorCode"`
	FailureReason     string    `json:"failureReason,omitempty"`
	// Extra holds the sign-in's other properties as Graph returns them.
	Extra map[string]any `json:"extra,omitempty"`
}

// OtherMethod is a non-FIDO2 authentication method (password, phone, …).
type OtherMethod struct {
	ODataType string `json:"@odata.type"`
	ID        string `json:"id"`
	// Extra holds the method's other properties as Graph returns them.
	Extra map[string]any `json:"extra,omitempty"`
}

// challenge is an issued creationOptions challenge.
type challenge struct {
	UserID  string    `json:"userId"`
	Expires time.Time `json:"expires"`
	Used    bool      `json:"used"`
}

// State is everything the emulated tenant holds. Tests seed and inspect it
// through Emulator.Update and Emulator.Snapshot.
type State struct {
	TenantID          string                   `json:"tenantId"`
	Domain            string                   `json:"domain"`
	Users             []*User                  `json:"users"`
	Methods           map[string][]*Method     `json:"methods"`      // by user ID
	OtherMethods      map[string][]OtherMethod `json:"otherMethods"` // by user ID
	RoleAssignments   []RoleAssignment         `json:"roleAssignments"`
	RoleEligibilities []RoleSchedule           `json:"roleEligibilities"`
	AssignmentSched   []RoleSchedule           `json:"roleAssignmentSchedules"`
	CAPolicies        []CAPolicy               `json:"conditionalAccessPolicies"`
	Groups            []Group                  `json:"groups,omitempty"`
	DirectoryAudits   []DirectoryAudit         `json:"directoryAudits,omitempty"`
	FIDO2             FIDO2Policy              `json:"fido2Policy"`
	SignIns           []SignIn                 `json:"signIns"`
	Challenges        map[string]*challenge    `json:"challenges"`
	Apps              []App                    `json:"apps"`
	// Directory holds collections a loaded tenant carries that the emulator
	// serves as they are (organization, directoryRoles, administrativeUnits,
	// authenticationStrengthPolicies, domains, subscribedSkus), by name.
	Directory map[string][]map[string]any `json:"directory,omitempty"`
	// MethodsPolicy is the whole authentication methods policy of a loaded
	// tenant (its FIDO2 configuration is read into FIDO2).
	MethodsPolicy map[string]any `json:"authenticationMethodsPolicy,omitempty"`
	// NoEntraP2: the tenant has no Entra ID P2 licence, so the PIM APIs
	// answer 400 AadPremiumLicenseRequired and only roleAssignments reads.
	NoEntraP2 bool `json:"noEntraP2,omitempty"`
	// NoEntraPremium: the tenant has neither Entra ID P1 nor P2, so Graph
	// keeps its sign-in and audit logs 7 days instead of 30.
	NoEntraPremium bool `json:"noEntraPremium,omitempty"`
	// WhatIfOverride makes the What If evaluation answer policyApplies
	// as given for a policy ID (an Entra evaluation that differs from the
	// emulator's own, to test that a disagreement is seen).
	WhatIfOverride map[string]bool `json:"whatIfOverride,omitempty"`
}

// App is an app registration that may sign in with a certificate.
type App struct {
	ClientID string   `json:"clientId"`
	CertDER  []byte   `json:"certDer"`
	Secret   string   `json:"secret,omitempty"` // a client secret, for the client-secret grant
	Roles    []string `json:"roles"`            // application permissions granted
}

// Well-known IDs.
const (
	RoleGlobalAdministrator = "62e90394-69f5-4237-9190-012177145e10"
	// PasswordMethodID is the fixed ID Graph gives every user's password method.
	PasswordMethodID = "28c10230-6103-485e-b985-444c60001490"
)

// DefaultState is a tenant with one well-configured break-glass account.
func DefaultState() *State {
	f := false
	tr := true
	bg := &User{ID: "4e0f5b56-1f7a-4d2c-9b7e-6b3c1a2d9e01", UserPrincipalName: "breakglass1@contoso.onmicrosoft.com",
		DisplayName: "Break Glass 1", OnPremisesSyncEnabled: &f, PasswordPolicies: "DisablePasswordExpiration", UserType: "Member", AccountEnabled: &tr}
	return &State{
		TenantID: "7c1d5b3e-2a4f-4e8b-9c6d-0f1e2d3c4b5a", Domain: "contoso.onmicrosoft.com",
		Users:        []*User{bg},
		Methods:      map[string][]*Method{},
		OtherMethods: map[string][]OtherMethod{bg.ID: {{ODataType: "#microsoft.graph.passwordAuthenticationMethod", ID: PasswordMethodID}}},
		RoleAssignments: []RoleAssignment{{ID: "ra-bg1-ga", PrincipalID: bg.ID, RoleDefinitionID: RoleGlobalAdministrator, DirectoryScopeID: "/"},
			// A day-to-day administrator: a tenant has 2 to 8 Global Administrators (ScubaGear and Maester MS.AAD.7.1).
			{ID: "ra-admin-ga", PrincipalID: "0d5e8f21-6a3b-4c7d-8e9f-1a2b3c4d5e6f", RoleDefinitionID: RoleGlobalAdministrator, DirectoryScopeID: "/"}},
		AssignmentSched: []RoleSchedule{{ID: "ras-bg1-ga", PrincipalID: bg.ID, RoleDefinitionID: RoleGlobalAdministrator, DirectoryScopeID: "/", Status: "Provisioned"}},
		CAPolicies: []CAPolicy{
			{ID: "ca-mfa-all", DisplayName: "Require MFA for all users", State: "enabled", IncludeUsers: []string{"All"}, ExcludeUsers: []string{bg.ID}},
			// Microsoft's advice for emergency access accounts: a policy that
			// requires the built-in "Phishing-resistant MFA" strength
			// (00000000-0000-0000-0000-000000000004: windowsHelloForBusiness,
			// fido2, x509CertificateMultiFactor; Microsoft Learn,
			// "Conditional Access authentication strengths", built-in).
			{ID: "ca-breakglass-phr", DisplayName: "Emergency access: phishing-resistant MFA", State: "enabled",
				IncludeUsers: []string{bg.ID}, Raw: phishingResistantRaw()},
		},
		FIDO2: FIDO2Policy{State: "enabled", IsSelfServiceRegistrationAllowed: true, IsAttestationEnforced: true,
			KeyRestrictionsEnforced: true, EnforcementType: "allow", IncludeTargetIDs: []string{"all_users"},
			AAGUIDs: []string{
				"6b657963-6572-656d-6f6e-792d73696d6b", // keyceremony simkey (rehearsal)
				"2fc0579f-8113-47ea-b116-bb5a8db9202a", "ee882879-721c-4913-9775-3dfcce97072a",
				"fa2b99dc-9e39-4257-8f92-4a30d23c4118", "cb69481e-8ff7-4039-93ec-0a2729a154a8",
			}},
		Challenges: map[string]*challenge{},
	}
}

// phishingResistantRaw is a policy body (as Graph returns it) that requires
// the built-in Phishing-resistant MFA strength for every application.
func phishingResistantRaw() map[string]any {
	return map[string]any{
		"conditions": map[string]any{"clientAppTypes": []any{"all"},
			"applications": map[string]any{"includeApplications": []any{"All"}}},
		"grantControls": map[string]any{"operator": "OR", "builtInControls": []any{},
			"authenticationStrength": map[string]any{"id": "00000000-0000-0000-0000-000000000004",
				"displayName": "Phishing-resistant MFA", "policyType": "builtIn", "requirementsSatisfied": "mfa",
				"allowedCombinations": []any{"windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"}}},
	}
}

package tenantfile

// File is a tenant file. Collections the export could not read are left out.
type File struct {
	Organization             []Object `json:"organization,omitempty"`
	Users                    []Object `json:"users"`
	Groups                   []Object `json:"groups"`
	DirectoryRoles           []Object `json:"directoryRoles,omitempty"`
	RoleAssignments          []Object `json:"roleAssignments"`
	RoleEligibilitySchedules []Object `json:"roleEligibilitySchedules"`
	RoleAssignmentSchedules  []Object `json:"roleAssignmentSchedules"`
	// PIM for Groups' schedule instances (privilegedAccessGroup).
	GroupEligibilityInstances []Object            `json:"privilegedAccessGroupEligibilityScheduleInstances,omitempty"`
	GroupAssignmentInstances  []Object            `json:"privilegedAccessGroupAssignmentScheduleInstances,omitempty"`
	AdministrativeUnits       []Object            `json:"administrativeUnits,omitempty"`
	CAPolicies                []Object            `json:"conditionalAccessPolicies"`
	StrengthPolicies          []Object            `json:"authenticationStrengthPolicies,omitempty"`
	MethodsPolicy             Object              `json:"authenticationMethodsPolicy"`
	Domains                   []Object            `json:"domains,omitempty"`
	SubscribedSkus            []Object            `json:"subscribedSkus,omitempty"`
	SignIns                   []Object            `json:"signIns"`
	DirectoryAudits           []Object            `json:"directoryAudits"`
	AuthenticationMethods     map[string][]Object `json:"authenticationMethods"`
}

// Object is one Graph object as JSON.
type Object = map[string]any

// Package tenantfile is the tenant file: a tenant in Graph's own response
// shapes, so that a fixture can be pasted from Microsoft's documented examples
// (microsoftgraph/microsoft-graph-docs-contrib, api-reference/*/api/*.md)
// and an organisation can rehearse against an export of its own tenant
// (`keyceremony tenant export`). Each collection is the "value" array of the
// list call that reads it:
//
//	organization                   GET /organization
//	users                          GET /users/{id}?$select=… (every property read)
//	groups                         GET /groups/{id}, with "members": GET /groups/{id}/members
//	directoryRoles                 GET /directoryRoles
//	roleAssignments                GET /roleManagement/directory/roleAssignments
//	roleEligibilitySchedules       GET /roleManagement/directory/roleEligibilitySchedules
//	roleAssignmentSchedules        GET /roleManagement/directory/roleAssignmentSchedules
//	privilegedAccessGroupEligibilityScheduleInstances
//	                               GET /identityGovernance/privilegedAccess/group/eligibilityScheduleInstances
//	privilegedAccessGroupAssignmentScheduleInstances
//	                               GET /identityGovernance/privilegedAccess/group/assignmentScheduleInstances
//	                               (PIM for Groups, each filtered by principalId)
//	administrativeUnits            GET /directory/administrativeUnits, with "members" and
//	                               "scopedRoleMembers": GET /directory/administrativeUnits/{id}/scopedRoleMembers
//	conditionalAccessPolicies      GET /identity/conditionalAccess/policies
//	authenticationStrengthPolicies GET /policies/authenticationStrengthPolicies
//	authenticationMethodsPolicy    GET /beta/policies/authenticationMethodsPolicy (one object)
//	domains                        GET /domains
//	subscribedSkus                 GET /subscribedSkus
//	signIns                        GET /auditLogs/signIns
//	directoryAudits                GET /auditLogs/directoryAudits
//	authenticationMethods          {userId: GET /users/{id}/authentication/methods}
//
// The first user is the break-glass account a rehearsal runs its ceremony for.
// `keyceremony tenant export` (enroll) writes it; the Graph emulator
// (internal/sim/graphemu) serves it: one definition for both.
package tenantfile

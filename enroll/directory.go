package enroll

// Directory reads the posture audit needs beyond the account's own: the
// facts of the groups that hold it, the tenant's domains and organization,
// and the account's PIM for Groups memberships. Each is read only; a 403 or
// 400 comes back as a *GraphError ("could not check", never "none").

import (
	"context"
	"errors"
	"time"

	ig "github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/organization"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// groupSelect are the group properties the audit judges: isAssignableToRole
// and isManagementRestricted (in a restricted management administrative
// unit; "Returned only on $select", v1.0 group resource,
// microsoft-graph-docs-contrib api-reference/v1.0/resources/group.md, and
// msgraph-sdk-go v1.89.0 models.Group.GetIsManagementRestricted: v1.0 has it).
var groupSelect = []string{"id", "displayName", "isAssignableToRole", "isManagementRestricted", "securityEnabled",
	"groupTypes", "membershipRule"}

// TransitiveGroups lists the groups that hold the user, directly or through
// nested groups, with the facts the audit judges them by: GET
// /users/{id}/transitiveMemberOf/microsoft.graph.group?$select=…, every
// page (GroupMember.Read.All).
func (c *Client) TransitiveGroups(ctx context.Context, userID string) ([]models.Groupable, error) {
	var out []models.Groupable
	err := c.retryRead(ctx, "group memberships", func() error {
		out = nil
		resp, err := c.graph.Users().ByUserId(userID).TransitiveMemberOf().GraphGroup().Get(ctx,
			&users.ItemTransitiveMemberOfGraphGroupRequestBuilderGetRequestConfiguration{
				QueryParameters: &users.ItemTransitiveMemberOfGraphGroupRequestBuilderGetQueryParameters{
					Select: groupSelect,
				}})
		if err != nil {
			return err
		}
		return eachItem(ctx, c, "group memberships", resp, models.CreateGroupCollectionResponseFromDiscriminatorValue,
			func(g models.Groupable) { out = append(out, g) })
	})
	if err != nil {
		return nil, err // never part of a collection
	}
	return out, nil
}

// DirectGroups lists the IDs of the groups that hold the user directly,
// not through a nested group: GET /users/{id}/memberOf/microsoft.graph.group
// (microsoft-graph-docs-contrib api-reference/v1.0/api/user-list-memberof.md:
// "Get groups ... that the user is a direct member of"), every page
// (GroupMember.Read.All).
func (c *Client) DirectGroups(ctx context.Context, userID string) ([]string, error) {
	var out []string
	err := c.retryRead(ctx, "direct group memberships", func() error {
		out = []string{}
		resp, err := c.graph.Users().ByUserId(userID).MemberOf().GraphGroup().Get(ctx,
			&users.ItemMemberOfGraphGroupRequestBuilderGetRequestConfiguration{
				QueryParameters: &users.ItemMemberOfGraphGroupRequestBuilderGetQueryParameters{
					Select: []string{"id"},
				}})
		if err != nil {
			return err
		}
		return eachItem(ctx, c, "direct group memberships", resp,
			models.CreateGroupCollectionResponseFromDiscriminatorValue,
			func(g models.Groupable) { out = append(out, deref(g.GetId())) })
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Domains lists the tenant's domains (GET /domains; Domain.Read.All): which
// is the initial *.onmicrosoft.com one (isInitial) and each one's password
// validity period (passwordValidityPeriodInDays).
func (c *Client) Domains(ctx context.Context) ([]models.Domainable, error) {
	var out []models.Domainable
	err := c.retryRead(ctx, "domains", func() error {
		out = nil
		resp, err := c.graph.Domains().Get(ctx, nil)
		if err != nil {
			return err
		}
		return eachItem(ctx, c, "domains", resp, models.CreateDomainCollectionResponseFromDiscriminatorValue,
			func(d models.Domainable) { out = append(out, d) })
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Organization reads the tenant's organization (GET
// /organization?$select=id,createdDateTime; Organization.Read.All): when
// the tenant was created decides the default password expiry of a domain
// that sets none.
func (c *Client) Organization(ctx context.Context) (models.Organizationable, error) {
	var out models.Organizationable
	err := c.retryRead(ctx, "organization", func() error {
		out = nil
		resp, err := c.graph.Organization().Get(ctx, &organization.OrganizationRequestBuilderGetRequestConfiguration{
			QueryParameters: &organization.OrganizationRequestBuilderGetQueryParameters{
				Select: []string{"id", "displayName", "createdDateTime"}}})
		if err != nil {
			return err
		}
		return eachItem(ctx, c, "organization", resp, models.CreateOrganizationCollectionResponseFromDiscriminatorValue,
			func(o models.Organizationable) {
				if out == nil {
					out = o
				}
			})
	})
	if err == nil && out == nil {
		err = errors.New("organization: empty answer")
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pimGroups reads the account's PIM for Groups memberships (Microsoft
// Graph v1.0, privilegedAccessGroup: List eligibilityScheduleInstances and
// List assignmentScheduleInstances, "$filter=principalId eq '…'", which the
// method requires; PrivilegedEligibilitySchedule.Read.AzureADGroup and
// PrivilegedAssignmentSchedule.Read.AzureADGroup): the groups in which the
// account may activate membership, and those in which it is an active
// member through PIM. Only "member" access counts (not "owner").
func (c *Client) pimGroups(ctx context.Context, userID string, out *Roles) error {
	var eligible, active []string
	ends := map[string]time.Time{}
	err := c.retryRead(ctx, "PIM for Groups eligibilities", func() error {
		eligible = nil
		resp, err := c.graph.IdentityGovernance().PrivilegedAccess().Group().EligibilityScheduleInstances().Get(ctx,
			&ig.PrivilegedAccessGroupEligibilityScheduleInstancesRequestBuilderGetRequestConfiguration{
				QueryParameters: &ig.PrivilegedAccessGroupEligibilityScheduleInstancesRequestBuilderGetQueryParameters{
					Filter: principalFilter(userID),
				}})
		if err != nil {
			return err
		}
		return eachItem(ctx, c, "PIM for Groups eligibilities", resp,
			models.CreatePrivilegedAccessGroupEligibilityScheduleInstanceCollectionResponseFromDiscriminatorValue,
			func(s models.PrivilegedAccessGroupEligibilityScheduleInstanceable) {
				if a := s.GetAccessId(); a != nil && a.String() == "member" {
					eligible = append(eligible, deref(s.GetGroupId()))
				}
			})
	})
	if err != nil {
		return err
	}
	err = c.retryRead(ctx, "PIM for Groups assignments", func() error {
		active, ends = nil, map[string]time.Time{}
		resp, err := c.graph.IdentityGovernance().PrivilegedAccess().Group().AssignmentScheduleInstances().Get(ctx,
			&ig.PrivilegedAccessGroupAssignmentScheduleInstancesRequestBuilderGetRequestConfiguration{
				QueryParameters: &ig.PrivilegedAccessGroupAssignmentScheduleInstancesRequestBuilderGetQueryParameters{
					Filter: principalFilter(userID),
				}})
		if err != nil {
			return err
		}
		return eachItem(ctx, c, "PIM for Groups assignments", resp,
			models.CreatePrivilegedAccessGroupAssignmentScheduleInstanceCollectionResponseFromDiscriminatorValue,
			func(s models.PrivilegedAccessGroupAssignmentScheduleInstanceable) {
				if a := s.GetAccessId(); a != nil && a.String() == "member" {
					active = append(active, deref(s.GetGroupId()))
					if end := s.GetEndDateTime(); end != nil {
						ends[deref(s.GetGroupId())] = *end
					}
				}
			})
	})
	if err != nil {
		return err
	}
	out.GroupEligible, out.GroupActive, out.GroupActiveExpires = eligible, active, ends
	return nil
}

// schedule reads a PIM schedule's end (Graph expirationPattern:
// microsoft-graph-docs-contrib, api-reference/v1.0/resources/
// expirationpattern.md, commit 296c83fb6c8e4bff4621915a9cc2a24342948a0b).
// afterDateTime ends at endDateTime; afterDuration at startDateTime plus
// duration, with no endDateTime. A time-bound schedule whose end cannot be
// worked out ends at the zero time: never taken as permanent.
func schedule(role, status string, info models.RequestScheduleable) RoleSchedule {
	s := RoleSchedule{RoleDefinitionID: role, Status: status}
	if info == nil || info.GetExpiration() == nil {
		return s
	}
	exp := info.GetExpiration()
	t := exp.GetTypeEscaped()
	if t == nil || t.String() == "noExpiration" || t.String() == "notSpecified" {
		if t == nil {
			s.Expires = exp.GetEndDateTime()
		}
		return s
	}
	if s.Expires = exp.GetEndDateTime(); s.Expires != nil {
		return s
	}
	end := time.Time{}
	if d := exp.GetDuration(); d != nil && info.GetStartDateTime() != nil {
		if dur, err := d.ToDuration(); err == nil {
			end = info.GetStartDateTime().Add(dur)
		}
	}
	s.Expires = &end
	return s
}

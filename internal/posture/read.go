package posture

import (
	"context"
	"fmt"

	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/keyceremony/keyceremony/enroll"
)

// Reader is the read-only part of *enroll.Client the audit needs.
type Reader interface {
	GetUser(ctx context.Context, upnOrID string) (*enroll.User, error)
	AuthenticationMethods(ctx context.Context, userID string) ([]enroll.AuthMethod, error)
	RolesOf(ctx context.Context, userID string) (*enroll.Roles, error)
	TransitiveGroups(ctx context.Context, userID string) ([]models.Groupable, error)
	DirectGroups(ctx context.Context, userID string) ([]string, error)
	Domains(ctx context.Context) ([]models.Domainable, error)
	Organization(ctx context.Context) (models.Organizationable, error)
	ConditionalAccessPolicies(ctx context.Context) ([]enroll.CAPolicy, error)
	FIDO2MethodPolicy(ctx context.Context) (*enroll.FIDO2Policy, error)
	WhatIf(ctx context.Context, userID string) ([]enroll.CAPolicy, error)
}

// Snapshot is what the audit read of the tenant for one account. A read
// that failed keeps its error: what depends on it is "could not check".
type Snapshot struct {
	User       *enroll.User
	UserErr    error
	Methods    []enroll.AuthMethod
	MethodsErr error
	Roles      *enroll.Roles
	RolesErr   error
	// Groups are the IDs of every group that holds the account, directly
	// or nested (transitiveMemberOf, every page).
	Groups    []string
	GroupsErr error
	// GroupFacts are those groups as Graph returned them (displayName,
	// isAssignableToRole, isManagementRestricted), by ID.
	GroupFacts map[string]models.Groupable
	// GroupRoles are the directory roles of each role-assignable group
	// that holds the account, by group ID (read as RolesOf the group): its
	// members hold them too, so a policy aimed at one reaches the account.
	// GroupRolesErr is the first such read that failed.
	GroupRoles    map[string]*enroll.Roles
	GroupRolesErr error
	// DirectGroups are the IDs of the groups that hold the account
	// directly (memberOf): an exclusion group that holds it only through
	// a nested group is no better protected than that nested group.
	DirectGroups    []string
	DirectGroupsErr error
	Policies        []enroll.CAPolicy
	PoliciesErr     error
	FIDO2           *enroll.FIDO2Policy
	FIDO2Err        error
	// WhatIf is Entra's own evaluation of the policies for the account
	// (enroll.Client.WhatIf): a second opinion on the audit's.
	WhatIf    []enroll.CAPolicy
	WhatIfErr error
	// AAGUIDs are the models of the account's recorded keys (none before
	// a ceremony): the FIDO2 policy must admit each.
	AAGUIDs []string
	// Domains are the tenant's domains (the initial one, each one's
	// password validity period); Org its organization (createdDateTime).
	Domains    []models.Domainable
	DomainsErr error
	Org        models.Organizationable
	OrgErr     error
	// Accounts is how many break-glass accounts the tool knows of (the
	// configuration's; 0: not known, nothing said).
	Accounts int
}

// Read gathers the snapshot of account (UPN or object ID) for the audit;
// aaguids are the recorded keys' models, if any. It never fails: each
// read's error is kept in the snapshot.
func Read(ctx context.Context, g Reader, account string, aaguids []string) *Snapshot {
	s := &Snapshot{AAGUIDs: aaguids}
	s.User, s.UserErr = g.GetUser(ctx, account)
	if s.UserErr != nil {
		return s
	}
	id := s.User.ID
	s.Methods, s.MethodsErr = g.AuthenticationMethods(ctx, id)
	s.Roles, s.RolesErr = g.RolesOf(ctx, id)
	var groups []models.Groupable
	if groups, s.GroupsErr = g.TransitiveGroups(ctx, id); s.GroupsErr == nil {
		s.Groups, s.GroupFacts = []string{}, map[string]models.Groupable{}
		for _, gr := range groups {
			gid := ""
			if gr.GetId() != nil {
				gid = *gr.GetId()
			}
			s.Groups = append(s.Groups, gid)
			s.GroupFacts[gid] = gr
			if !isTrue(gr.GetIsAssignableToRole()) {
				continue // only a role-assignable group can hold a role
			}
			r, err := g.RolesOf(ctx, gid)
			if err != nil {
				if s.GroupRolesErr == nil {
					s.GroupRolesErr = fmt.Errorf("the roles of group %s: %w", groupName(gr), err)
				}
				continue
			}
			if s.GroupRoles == nil {
				s.GroupRoles = map[string]*enroll.Roles{}
			}
			s.GroupRoles[gid] = r
		}
	}
	s.DirectGroups, s.DirectGroupsErr = g.DirectGroups(ctx, id)
	s.Domains, s.DomainsErr = g.Domains(ctx)
	s.Org, s.OrgErr = g.Organization(ctx)
	s.Policies, s.PoliciesErr = g.ConditionalAccessPolicies(ctx)
	s.FIDO2, s.FIDO2Err = g.FIDO2MethodPolicy(ctx)
	s.WhatIf, s.WhatIfErr = g.WhatIf(ctx, id)
	return s
}

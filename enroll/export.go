package enroll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/keyceremony/keyceremony/internal/tenantfile"
)

// maxExportPages bounds the pages one collection may take: past it the
// export stops with an error rather than read forever.
const maxExportPages = 2000

// tenantExport is the tenant file (internal/tenantfile) that the emulator
// serves back.
type tenantExport = tenantfile.File

// gobj is one Graph object as JSON.
type gobj = tenantfile.Object

// exportUserSelect is every user property the ceremony and the audit read,
// and the default set beside them.
const exportUserSelect = "id,userPrincipalName,displayName,accountEnabled,passwordPolicies,onPremisesSyncEnabled," +
	"onPremisesImmutableId,userType,createdDateTime,businessPhones,givenName,jobTitle,mail,mobilePhone," +
	"officeLocation," +
	"preferredLanguage,surname"

// exportGroupSelect is every group property the audit reads
// (isManagementRestricted is "Returned only on $select").
const exportGroupSelect = "id,displayName,isAssignableToRole,isManagementRestricted,securityEnabled,groupTypes"

// ExportTenant writes to the file at path (0600, complete or not at all), read only, what the health check and the
// posture audit read of the tenant for the accounts (UPNs or IDs; the first
// is the one a rehearsal runs its ceremony for), in Graph's own response
// shapes: the accounts, the groups that hold them (with members among the
// exported objects) or that a Conditional Access policy or the FIDO2
// configuration names, their role assignments and PIM schedules, every
// Conditional Access policy, the authentication methods policy, sign-ins
// and audit events since since, and each account's methods. It needs the
// health check's read permissions; collections beyond them (domains,
// licences, administrative units, organization) are exported when readable
// and otherwise named on notice. Every collection follows @odata.nextLink.
func (c *Client) ExportTenant(
	ctx context.Context,
	accounts []string,
	since time.Time,
	path string,
	notice io.Writer,
) error {
	x := &exporter{c: c, notice: notice}
	t := tenantExport{AuthenticationMethods: map[string][]gobj{}, Groups: []gobj{}}
	inExport := map[string]bool{}
	var groupIDs []string
	for _, a := range accounts {
		u, err := x.one(ctx, "account "+a, "/v1.0/users/"+url.PathEscape(a)+"?$select="+exportUserSelect)
		if err != nil {
			return err
		}
		delete(u, "@odata.context")
		id, _ := u["id"].(string)
		t.Users = append(t.Users, u)
		inExport[id] = true
		groups, err := x.list(ctx, "group memberships of "+a, "/v1.0/users/"+url.PathEscape(id)+"/transitiveMemberOf")
		if err != nil {
			return err
		}
		for _, g := range groups {
			if g["@odata.type"] == "#microsoft.graph.group" {
				groupIDs = append(groupIDs, str(g, "id"))
			}
		}
		methods := "/v1.0/users/" + url.PathEscape(id) + "/authentication/methods"
		if t.AuthenticationMethods[id], err = x.list(ctx, "authentication methods of "+a, methods); err != nil {
			return err
		}
		if err := x.principalReads(ctx, &t, id, since); err != nil {
			return err
		}
		groupIDs = append(groupIDs, x.pimGroupReads(ctx, &t, id)...)
	}
	var err error
	t.CAPolicies, err = x.list(ctx, "conditional access policies", "/v1.0/identity/conditionalAccess/policies")
	if err != nil {
		return err
	}
	t.MethodsPolicy, err = x.one(ctx, "authentication methods policy", "/beta/policies/authenticationMethodsPolicy")
	if err != nil {
		return err
	}
	delete(t.MethodsPolicy, "@odata.context")
	groupIDs = append(groupIDs, referencedGroups(t.CAPolicies, t.MethodsPolicy)...)
	slices.Sort(groupIDs)
	groupIDs = slices.Compact(groupIDs)
	for _, id := range groupIDs {
		inExport[id] = true
	}
	for _, id := range groupIDs {
		g, err := x.one(
			ctx,
			"group "+id,
			"/v1.0/groups/"+url.PathEscape(id)+"?$select="+exportGroupSelect,
		)
		var ge *GraphError
		if errors.As(err, &ge) && ge.Status == http.StatusNotFound {
			continue // a policy may name a group that no longer exists
		}
		if err != nil {
			return err
		}
		members, err := x.list(ctx, "members of group "+id, "/v1.0/groups/"+url.PathEscape(id)+"/members?$select=id")
		if err != nil {
			return err
		}
		kept := []any{}
		for _, m := range members {
			if inExport[str(m, "id")] {
				kept = append(kept, m)
			}
		}
		delete(g, "@odata.context")
		g["members"] = kept
		t.Groups = append(t.Groups, g)
		if g["isAssignableToRole"] == true {
			if err := x.principalRoles(ctx, &t, id); err != nil {
				return err
			}
		}
	}
	if err := x.globalAdmins(ctx, &t); err != nil {
		return err
	}
	x.optional(ctx, &t)
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("tenant file: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write the tenant file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write the tenant file: %w", err)
	}
	fmt.Fprintf(
		notice,
		"Tenant file written: %s (%d users, %d groups, %d Conditional Access policies, %d sign-ins, %d audit events)\n",
		path,
		len(t.Users),
		len(t.Groups),
		len(t.CAPolicies),
		len(t.SignIns),
		len(t.DirectoryAudits),
	)
	return nil
}

// exporter reads collections for ExportTenant.
type exporter struct {
	c      *Client
	notice io.Writer
}

// principalReads adds an account's role assignments, schedules, sign-ins
// and audit events.
func (x *exporter) principalReads(ctx context.Context, t *tenantExport, id string, since time.Time) error {
	if err := x.principalRoles(ctx, t, id); err != nil {
		return err
	}
	q := url.QueryEscape
	ts := since.UTC().Format(time.RFC3339)
	signIns, err := x.list(
		ctx,
		"sign-ins",
		"/v1.0/auditLogs/signIns?$filter="+q("userId eq '"+id+"' and createdDateTime ge "+ts),
	)
	if err != nil {
		return err
	}
	audits, err := x.list(ctx, "directory audit events", "/v1.0/auditLogs/directoryAudits?$filter="+
		q("activityDateTime ge "+ts+" and targetResources/any(t:t/id eq '"+id+"')"))
	if err != nil {
		return err
	}
	t.SignIns, t.DirectoryAudits = append(t.SignIns, signIns...), append(t.DirectoryAudits, audits...)
	return nil
}

// globalAdmins adds the tenant's Global Administrator assignments not yet
// exported: the posture audit counts them (2 to 8, ScubaGear and Maester MS.AAD.7.1).
func (x *exporter) globalAdmins(ctx context.Context, t *tenantExport) error {
	f := "?$filter=" + url.QueryEscape("roleDefinitionId eq '"+roleGlobalAdministrator+"'")
	ga, err := x.list(ctx, "Global Administrator assignments", "/v1.0/roleManagement/directory/roleAssignments"+f)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, a := range t.RoleAssignments {
		have[str(a, "id")] = true
	}
	for _, a := range ga {
		if !have[str(a, "id")] {
			t.RoleAssignments = append(t.RoleAssignments, a)
		}
	}
	return nil
}

// principalRoles adds a principal's role assignments and PIM schedules. A
// tenant without Entra ID P2 answers the PIM reads 400
// AadPremiumLicenseRequired: the export says so and carries on without them.
func (x *exporter) principalRoles(ctx context.Context, t *tenantExport, id string) error {
	f := "?$filter=" + url.QueryEscape("principalId eq '"+id+"'")
	ra, err := x.list(ctx, "role assignments", "/v1.0/roleManagement/directory/roleAssignments"+f)
	if err != nil {
		return err
	}
	t.RoleAssignments = append(t.RoleAssignments, ra...)
	for _, s := range []struct {
		name string
		into *[]gobj
	}{
		{"roleEligibilitySchedules", &t.RoleEligibilitySchedules},
		{"roleAssignmentSchedules", &t.RoleAssignmentSchedules},
	} {
		list, err := x.list(ctx, "PIM "+s.name, "/v1.0/roleManagement/directory/"+s.name+f)
		var ge *GraphError
		if errors.As(err, &ge) && ge.Status == http.StatusBadRequest {
			fmt.Fprintf(x.notice, "not exported: %s (%v)\n", s.name, err)
			continue
		}
		if err != nil {
			return err
		}
		*s.into = append(*s.into, list...)
	}
	return nil
}

// pimGroupReads adds an account's PIM for Groups schedule instances
// (eligible and active memberships, filtered by principalId as the method
// requires) and returns the groups they name. A tenant without Entra ID P2
// answers 400 AadPremiumLicenseRequired, a principal without the
// permission 403: the export says so and carries on without them.
func (x *exporter) pimGroupReads(ctx context.Context, t *tenantExport, id string) []string {
	f := "?$filter=" + url.QueryEscape("principalId eq '"+id+"'")
	var groups []string
	for _, s := range []struct {
		name string
		into *[]gobj
	}{
		{"eligibilityScheduleInstances", &t.GroupEligibilityInstances},
		{"assignmentScheduleInstances", &t.GroupAssignmentInstances},
	} {
		list, err := x.list(ctx, "PIM for Groups "+s.name, "/v1.0/identityGovernance/privilegedAccess/group/"+s.name+f)
		if err != nil {
			fmt.Fprintf(x.notice, "not exported: PIM for Groups %s (%v)\n", s.name, err)
			continue
		}
		*s.into = append(*s.into, list...)
		for _, i := range list {
			if g := str(i, "groupId"); g != "" {
				groups = append(groups, g)
			}
		}
	}
	return groups
}

// optional adds the collections beyond the health check's permissions when
// they can be read, and names on notice those that could not.
func (x *exporter) optional(ctx context.Context, t *tenantExport) {
	for _, o := range []struct {
		what, path string
		into       *[]gobj
	}{
		{"organization", "/v1.0/organization", &t.Organization},
		{"domains", "/v1.0/domains", &t.Domains},
		{"subscribedSkus", "/v1.0/subscribedSkus", &t.SubscribedSkus},
		{"directoryRoles", "/v1.0/directoryRoles", &t.DirectoryRoles},
		{"authenticationStrengthPolicies", "/v1.0/policies/authenticationStrengthPolicies", &t.StrengthPolicies},
		{"administrativeUnits", "/v1.0/directory/administrativeUnits", &t.AdministrativeUnits},
	} {
		list, err := x.list(ctx, o.what, o.path)
		if err != nil {
			fmt.Fprintf(x.notice, "not exported: %s (%v)\n", o.what, err)
			continue
		}
		*o.into = list
	}
	for _, au := range t.AdministrativeUnits {
		for _, part := range []string{"members", "scopedRoleMembers"} {
			list, err := x.list(
				ctx,
				"administrative unit "+part,
				"/v1.0/directory/administrativeUnits/"+url.PathEscape(str(au, "id"))+"/"+part,
			)
			if err != nil {
				fmt.Fprintf(x.notice, "not exported: %s of administrative unit %s (%v)\n", part, str(au, "id"), err)
				continue
			}
			au[part] = list
		}
	}
}

// referencedGroups are the group IDs Conditional Access policies and the
// FIDO2 configuration name.
func referencedGroups(policies []gobj, methods gobj) []string {
	var out []string
	for _, p := range policies {
		cond, _ := p["conditions"].(gobj)
		users, _ := cond["users"].(gobj)
		for _, k := range []string{"includeGroups", "excludeGroups"} {
			for _, v := range anyList(users[k]) {
				if s, ok := v.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	for _, c := range anyList(methods["authenticationMethodConfigurations"]) {
		cfg, _ := c.(gobj)
		for _, k := range []string{"includeTargets", "excludeTargets"} {
			for _, t := range anyList(cfg[k]) {
				if tg, _ := t.(gobj); tg != nil && str(tg, "id") != "all_users" && str(tg, "id") != "" {
					out = append(out, str(tg, "id"))
				}
			}
		}
	}
	return out
}

// one reads one object.
func (x *exporter) one(ctx context.Context, what, path string) (gobj, error) {
	u, err := url.Parse(x.c.root + path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	raw, err := x.c.getJSON(ctx, what, u)
	if err != nil {
		return nil, err
	}
	var out gobj
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// list reads a whole collection, following @odata.nextLink
// (https://learn.microsoft.com/graph/paging), at most maxExportPages pages.
func (x *exporter) list(ctx context.Context, what, path string) ([]gobj, error) {
	next := x.c.root + path
	out := []gobj{}
	for pages := 0; next != ""; pages++ {
		if pages == maxExportPages {
			return nil, fmt.Errorf("%s: more than %d pages; the export stops here", what, maxExportPages)
		}
		u, err := url.Parse(next)
		if err != nil || (u.Host != "" && !strings.HasPrefix(next, x.c.root+"/")) {
			return nil, fmt.Errorf("%s: next page %q is not on %s", what, next, x.c.root)
		}
		raw, err := x.c.getJSON(ctx, what, u)
		if err != nil {
			return nil, err
		}
		var page struct {
			Value    []gobj `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, page.Value...)
		next = page.NextLink
	}
	return out, nil
}

func str(o gobj, k string) string {
	s, _ := o[k].(string)
	return s
}

func anyList(v any) []any {
	l, _ := v.([]any)
	return l
}

package graphemu

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// directoryRoute answers the tenant reads a loaded tenant carries beyond
// the ceremony's own (organization, domains, licences, directory roles,
// administrative units, groups, authentication strengths, the whole
// authentication methods policy), read only and paged. It reports whether
// the request was one of them.
func (e *Emulator) directoryRoute(w http.ResponseWriter, r *http.Request, c caller, p []string) bool {
	if r.Method != http.MethodGet {
		return false
	}
	path := strings.Join(p, "/")
	// Permissions: each list call's least privileged application permission
	// and Directory.Read.All (Graph reference, the list page of each).
	switch {
	case path == "organization":
		if require(w, c, "Organization.Read.All", "Directory.Read.All") {
			e.directoryList(w, r, dirOrganization, "organization")
		}
	case path == "domains":
		if require(w, c, "Domain.Read.All", "Directory.Read.All") {
			e.directoryList(w, r, dirDomains, "domains")
		}
	case path == "subscribedSkus":
		if require(w, c, "LicenseAssignment.Read.All", "Organization.Read.All", "Directory.Read.All") {
			e.directoryList(w, r, dirSubscribedSkus, "subscribedSkus")
		}
	case path == "directoryRoles":
		if require(w, c, "RoleManagement.Read.Directory", "Directory.Read.All") {
			e.directoryList(w, r, dirRoles, "directoryRoles")
		}
	case path == "directory/administrativeUnits":
		if require(w, c, "AdministrativeUnit.Read.All", "Directory.Read.All") {
			e.directoryList(w, r, dirAdminUnits, "administrativeUnits")
		}
	case len(p) == 4 && p[0] == "directory" && p[1] == "administrativeUnits" &&
		(p[3] == "scopedRoleMembers" || p[3] == "members"):
		if require(w, c, "AdministrativeUnit.Read.All", "Directory.Read.All") {
			e.adminUnitPart(w, r, p[2], p[3])
		}
	case path == "policies/authenticationStrengthPolicies":
		if require(w, c, permPolicyRead...) {
			e.directoryList(w, r, dirStrengths, "policies/authenticationStrengthPolicies")
		}
	case len(p) == 4 && p[0] == "policies" && p[1] == "authenticationStrengthPolicies" &&
		p[3] == "combinationConfigurations":
		// GET /policies/authenticationStrengthPolicies/{id}/combinationConfigurations
		// (microsoft-graph-docs-contrib, api-reference/v1.0/api/
		// authenticationstrengthpolicy-list-combinationconfigurations.md):
		// the loaded strength's own combinationConfigurations member.
		if require(w, c, permPolicyRead...) {
			e.strengthConfigs(w, r, p[2])
		}
	case path == "policies/authenticationMethodsPolicy":
		if require(w, c, permPolicyRead...) {
			e.methodsPolicy(w, r)
		}
	case len(p) == 4 && p[0] == "identityGovernance" && p[1] == "privilegedAccess" && p[2] == "group" &&
		(p[3] == dirPIMGroupEligible || p[3] == dirPIMGroupAssigned):
		perms := []string{"PrivilegedEligibilitySchedule.Read.AzureADGroup",
			"PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup"}
		if p[3] == dirPIMGroupAssigned {
			perms = []string{"PrivilegedAssignmentSchedule.Read.AzureADGroup",
				"PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"}
		}
		if require(
			w,
			c,
			append(perms, "PrivilegedAccess.Read.AzureADGroup", "PrivilegedAccess.ReadWrite.AzureADGroup")...) {
			e.pimGroups(w, r, p[3])
		}
	case len(p) >= 2 && len(p) <= 3 && p[0] == "groups" && (len(p) == 2 || p[2] == "members"):
		if require(w, c, "GroupMember.Read.All", "Group.Read.All", "Directory.Read.All") {
			e.group(w, r, p[1], len(p) == 3)
		}
	default:
		return false
	}
	return true
}

// directoryList serves a loaded collection as it is, paged.
func (e *Emulator) directoryList(w http.ResponseWriter, r *http.Request, key, contextPath string) {
	e.mu.Lock()
	list := append([]map[string]any{}, e.st.Directory[key]...)
	if len(list) == 0 && key == dirOrganization {
		// createdDateTime decides a domain's default password expiry
		// (none for tenants created since 2021); the emulated tenant is newer.
		list = []map[string]any{{"id": e.st.TenantID, "displayName": "Contoso (emulated)",
			"createdDateTime": "2023-05-10T09:00:00Z"}}
	}
	if len(list) == 0 && key == dirDomains && e.st.Domain != "" {
		list = []map[string]any{
			{
				"id":                 e.st.Domain,
				"isInitial":          true,
				"isDefault":          true,
				"isVerified":         true,
				"authenticationType": "Managed",
			},
		}
	}
	for i, item := range list {
		list[i] = without(item, "members", "scopedRoleMembers") // relationships are served on their own paths
	}
	e.mu.Unlock()
	page(w, r, contextPath, list, pageOther)
}

// adminUnitPart serves an administrative unit's members or scoped role members.
func (e *Emulator) adminUnitPart(w http.ResponseWriter, r *http.Request, id, part string) {
	e.mu.Lock()
	var found map[string]any
	for _, au := range e.st.Directory[dirAdminUnits] {
		if str(au, "id") == id {
			found = au
		}
	}
	list := objs(found[part])
	e.mu.Unlock()
	if found == nil {
		graphError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+id+"' does not exist.")
		return
	}
	if list == nil {
		list = []map[string]any{}
	}
	page(w, r, "directory/administrativeUnits('"+id+"')/"+part, list, pageDirectory)
}

// group serves a group, or its direct members.
func (e *Emulator) group(w http.ResponseWriter, r *http.Request, id string, members bool) {
	e.mu.Lock()
	idx := slices.IndexFunc(e.st.Groups, func(g Group) bool { return g.ID == id })
	var g Group
	if idx >= 0 {
		g = e.st.Groups[idx]
	}
	list := []map[string]any{}
	for _, m := range g.Members {
		typ := "#microsoft.graph.group"
		if u := e.userLocked(m); u != nil {
			typ = "#microsoft.graph.user"
		}
		list = append(list, map[string]any{"@odata.type": typ, "id": m})
	}
	e.mu.Unlock()
	if idx < 0 {
		graphError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+id+"' does not exist.")
		return
	}
	if members {
		page(w, r, "directoryObjects", list, pageDirectory)
		return
	}
	out := project(groupJSON(g), selected(r.URL.Query()))
	out["@odata.context"] = selectContext(r, "groups/$entity", selected(r.URL.Query()))
	writeJSON(w, http.StatusOK, out)
}

// methodsPolicy serves the authentication methods policy: the loaded one,
// with its FIDO2 configuration as the emulator holds it now.
func (e *Emulator) methodsPolicy(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	out := without(e.st.MethodsPolicy)
	p := e.st.FIDO2
	e.mu.Unlock()
	var configs []any
	for _, c := range objs(out["authenticationMethodConfigurations"]) {
		if !strings.EqualFold(str(c, "id"), "Fido2") {
			configs = append(configs, c)
		}
	}
	out["authenticationMethodConfigurations"] = append(configs, fido2PolicyJSON(p))
	if out["id"] == nil {
		out["id"] = "authenticationMethodsPolicy"
	}
	out["@odata.context"] = selectContext(r, "policies/authenticationMethodsPolicy/$entity", nil)
	writeJSON(w, http.StatusOK, out)
}

// excludeTargets renders the FIDO2 configuration's exclude targets.
func excludeTargets(p FIDO2Policy) []any {
	out := []any{}
	for _, t := range p.ExcludeTargetIDs {
		out = append(out, map[string]any{"targetType": "group", "id": t})
	}
	return out
}

// strengthConfigs serves one loaded authentication strength's combination
// configurations; an unknown strength is 404 as Graph answers it.
func (e *Emulator) strengthConfigs(w http.ResponseWriter, r *http.Request, id string) {
	e.mu.Lock()
	var found map[string]any
	for _, s := range e.st.Directory[dirStrengths] {
		if strings.EqualFold(str(s, "id"), id) {
			found = s
		}
	}
	e.mu.Unlock()
	if found == nil {
		graphError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+id+"' does not exist.")
		return
	}
	list := []map[string]any{}
	for _, c := range objs(found["combinationConfigurations"]) {
		list = append(list, c)
	}
	page(w, r, "policies/authenticationStrengthPolicies('"+id+"')/combinationConfigurations", list, pageOther)
}

var rePIMGroupFilter = regexp.MustCompile(`^(principalId|groupId) eq '([^']+)'$`)

// pimGroups answers PIM for Groups' schedule instances as Microsoft Graph
// v1.0 documents them (microsoft-graph-docs-contrib,
// api-reference/v1.0/api/privilegedaccessgroup-list-eligibilityscheduleinstances.md,
// commit 25062ededb4ae5c3b721a97b65ff1eb5dda1d201, and
// privilegedaccessgroup-list-assignmentscheduleinstances.md, commit
// 0233faf53cc72a3da13439900c0e4560dcccdd3a): "This method requires the
// $filter (eq) query parameter to scope the request to a principalId or a
// groupId"; the loaded instances as they are. PIM needs Entra ID P2: on a
// tenant without it, 400 AadPremiumLicenseRequired as the role PIM APIs.
func (e *Emulator) pimGroups(w http.ResponseWriter, r *http.Request, what string) {
	m := rePIMGroupFilter.FindStringSubmatch(r.URL.Query().Get("$filter"))
	if m == nil {
		graphError(w, http.StatusBadRequest, "BadRequest",
			"The $filter query parameter with principalId or groupId is required.")
		return
	}
	e.mu.Lock()
	if e.st.NoEntraP2 {
		e.mu.Unlock()
		graphError(w, http.StatusBadRequest, "AadPremiumLicenseRequired",
			"The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license.")
		return
	}
	list := []map[string]any{}
	for _, s := range e.st.Directory[what] {
		if str(s, m[1]) == m[2] {
			list = append(list, s)
		}
	}
	e.mu.Unlock()
	page(w, r, "identityGovernance/privilegedAccess/group/"+what, list, pageOther)
}

package graphemu

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"slices"
)

// whatIf answers POST /beta/identity/conditionalAccess/evaluate, Entra's
// What If evaluation (microsoft-graph-docs-contrib, api-reference/beta/api/
// conditionalaccessroot-evaluate.md, commit
// 10604e6c52b4e37aed019b402da377f07820bea9): for a userSignIn identity and
// an applicationContext, a whatIfAnalysisResult collection — each policy as
// Graph returns it with policyApplies and analysisReasons ("notSet" when it
// applies; "users", "application" or "policyNotEnabled" for why not, the
// whatIfAnalysisReasons members). The emulator evaluates users, groups,
// tenant-wide roles, applications and the client app type; other conditions
// are not evaluated.
func (e *Emulator) whatIf(w http.ResponseWriter, r *http.Request) {
	var body struct {
		SignInIdentity struct {
			Type   string `json:"@odata.type"`
			UserID string `json:"userId"`
		} `json:"signInIdentity"`
		SignInContext struct {
			Type         string   `json:"@odata.type"`
			Applications []string `json:"includeApplications"`
		} `json:"signInContext"`
		SignInConditions struct {
			ClientAppType string `json:"clientAppType"`
		} `json:"signInConditions"`
		AppliedPoliciesOnly bool `json:"appliedPoliciesOnly"`
	}
	var src io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" { // the SDK compresses request bodies
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			graphError(w, http.StatusBadRequest, "BadRequest", "Bad gzip body.")
			return
		}
		defer gz.Close()
		src = gz
	}
	if err := json.NewDecoder(io.LimitReader(src, 1<<20)).Decode(&body); err != nil ||
		body.SignInIdentity.Type != "#microsoft.graph.userSignIn" || body.SignInIdentity.UserID == "" {
		graphError(w, http.StatusBadRequest, "BadRequest", "signInIdentity with a userId is required.")
		return
	}
	e.mu.Lock()
	u := e.userLocked(body.SignInIdentity.UserID)
	if u == nil {
		e.mu.Unlock()
		userNotFound(w, body.SignInIdentity.UserID)
		return
	}
	in := e.memberOfLocked(u.ID)
	var roles []string
	for _, a := range e.st.RoleAssignments {
		// A role assigned to a role-assignable group is the members' too
		// ("When people join the group, they're assigned the role
		// indirectly": MicrosoftDocs/entra-docs, docs/identity/
		// role-based-access-control/groups-concept.md, commit
		// 02d9a2ee250ed68f048a60bd23ee4a56a6db9dae).
		if in[a.PrincipalID] && (a.DirectoryScopeID == "/" || a.DirectoryScopeID == "") {
			roles = append(roles, a.RoleDefinitionID)
		}
	}
	list := []map[string]any{}
	for _, p := range e.st.CAPolicies {
		reason := "notSet"
		users := slices.Contains(p.IncludeUsers, "All") || slices.Contains(p.IncludeUsers, u.ID) ||
			slices.ContainsFunc(p.IncludeGroups, func(g string) bool { return in[g] }) ||
			slices.ContainsFunc(p.IncludeRoles, func(x string) bool { return slices.Contains(roles, x) })
		excluded := slices.Contains(p.ExcludeUsers, u.ID) || slices.ContainsFunc(p.ExcludeGroups, func(g string) bool { return in[g] }) ||
			slices.ContainsFunc(p.ExcludeRoles, func(x string) bool { return slices.Contains(roles, x) })
		switch {
		case p.State == "disabled":
			reason = "policyNotEnabled"
		case !users || excluded:
			reason = "users"
		case !appsMatch(p, body.SignInContext.Applications):
			reason = "application"
		case !clientAppMatches(p, body.SignInConditions.ClientAppType):
			reason = "clientApps"
		}
		applies := reason == "notSet"
		if o, ok := e.st.WhatIfOverride[p.ID]; ok {
			applies = o
			if !o && reason == "notSet" {
				reason = "users"
			}
			if o {
				reason = "notSet"
			}
		}
		if body.AppliedPoliciesOnly && !applies {
			continue
		}
		item := caPolicyJSON(p)
		item["policyApplies"], item["analysisReasons"] = applies, reason
		list = append(list, item)
	}
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": "https://graph.microsoft.com/beta/$metadata#Collection(microsoft.graph.whatIfAnalysisResult)",
		"value":          list})
}

// clientAppMatches reports whether a policy's client app types cover the
// request's signInConditions.clientAppType (none in the policy, "all", or
// no client app in the request: it covers). Entra names the condition that
// kept a policy off as analysisReasons "clientApps" (whatIfAnalysisResult,
// api-reference/beta/resources/whatifanalysisresult.md, commit
// 0cbb2a1da62f2d493934b9c4d2c9b920d119577d).
func clientAppMatches(p CAPolicy, clientApp string) bool {
	cond, _ := p.Raw["conditions"].(map[string]any)
	types := strs(cond["clientAppTypes"])
	return clientApp == "" || len(types) == 0 || slices.Contains(types, "all") || slices.Contains(types, clientApp)
}

// appsMatch reports whether a policy's applications condition covers any
// of apps (a policy the emulator holds without one covers all).
func appsMatch(p CAPolicy, apps []string) bool {
	cond, _ := p.Raw["conditions"].(map[string]any)
	a, _ := cond["applications"].(map[string]any)
	if a == nil {
		return true
	}
	include, exclude := strs(a["includeApplications"]), strs(a["excludeApplications"])
	for _, app := range apps {
		if (slices.Contains(include, "All") || slices.Contains(include, app)) && !slices.Contains(exclude, app) {
			return true
		}
	}
	return false
}

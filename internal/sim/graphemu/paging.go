package graphemu

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// pageSize is the default and largest page of one collection.
type pageSize struct{ def, max int }

// Page sizes of the collections the emulator serves, as Microsoft documents them.
var (
	// Directory objects (users, groups, members, transitiveMemberOf,
	// administrative units): "default and maximum page sizes are 100 and 999"
	// (https://learn.microsoft.com/graph/api/group-list-transitivememberof,
	// https://learn.microsoft.com/graph/paging: "GET /users returns a default
	// of 100 results in a single page"). $top=1000 is refused: "Invalid page
	// size specified: '1000'. Must be between 1 and 999 inclusive."
	pageDirectory = pageSize{100, 999}
	// Sign-ins: "The maximum and default page size is 1,000 objects and by
	// default, the most recent sign-ins are returned first"
	// (https://learn.microsoft.com/graph/api/signin-list).
	pageSignIns = pageSize{1000, 1000}
	// Directory audits: $top "sets the page size" and $skiptoken retrieves the
	// next page (https://learn.microsoft.com/graph/api/directoryaudit-list);
	// the page does not state the default, so the sign-ins' 1,000 is used.
	pageAudits = pageSize{1000, 1000}
	// Conditional Access policies, authentication strengths, role
	// assignments and schedules, authentication methods, domains and
	// subscribed SKUs: their list pages document no page size; Graph's
	// directory default (100, at most 999) is used, so that a tenant of 200
	// policies is served in pages as a large tenant may be, and a client that
	// reads only the first page is caught.
	pageOther = pageSize{100, 999}
)

// page answers a collection request: one page of list at the requested or
// default size, with @odata.context (naming the $select when given) and,
// while items remain, @odata.nextLink carrying the same query and a
// $skiptoken (https://learn.microsoft.com/graph/paging). $select keeps only
// the selected properties of each item (and its @odata.type).
func page(w http.ResponseWriter, r *http.Request, contextPath string, list []map[string]any, size pageSize) {
	q := r.URL.Query()
	n := size.def
	if t := q.Get("$top"); t != "" {
		v, err := strconv.Atoi(t)
		if err != nil || v < 1 || v > size.max {
			graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery",
				fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", t, size.max))
			return
		}
		n = v
	}
	from := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		v, aerr := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		if err != nil || aerr != nil || !strings.HasPrefix(string(b), "offset:") || v < 0 || v > len(list) {
			graphError(
				w,
				http.StatusBadRequest,
				"Request_BadRequest",
				"The $skiptoken is not valid for this collection.",
			)
			return
		}
		from = v
	}
	sel := selected(q)
	to := min(from+n, len(list))
	value := make([]any, 0, to-from)
	for _, item := range list[from:to] {
		value = append(value, project(item, sel))
	}
	out := map[string]any{"@odata.context": selectContext(r, contextPath, sel), "value": value}
	if to < len(list) {
		next := url.Values{}
		for k, vs := range q {
			if k != "$skiptoken" {
				next[k] = vs
			}
		}
		next.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("offset:"+strconv.Itoa(to))))
		out["@odata.nextLink"] = "https://" + r.Host + r.URL.Path + "?" + next.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

// selected is the $select list (nil when there is none).
func selected(q url.Values) []string {
	s := q.Get("$select")
	if s == "" {
		return nil
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// project keeps the selected properties of item (all of them without
// $select); a selected property the item has no value for is null, as
// Graph returns it (e.g. a group's isManagementRestricted when unset).
func project(item map[string]any, sel []string) map[string]any {
	if sel == nil {
		return item
	}
	out := map[string]any{}
	for k, v := range item {
		if k == "@odata.type" || slices.Contains(sel, k) {
			out[k] = v
		}
	}
	for _, k := range sel {
		if _, ok := out[k]; !ok {
			out[k] = nil
		}
	}
	return out
}

// selectContext is the @odata.context of an answer: the service root of the
// version called, $metadata#, the path, and the $select list in
// parentheses after the entity set, as Graph writes it, e.g.
// https://graph.microsoft.com/v1.0/$metadata#users(id,displayName)/$entity
// (https://learn.microsoft.com/graph/api/user-get, example 3).
func selectContext(r *http.Request, contextPath string, sel []string) string {
	root := graphRoot(strings.HasPrefix(r.URL.Path, "/beta/"))
	if sel != nil {
		set, rest, _ := strings.Cut(contextPath, "/")
		contextPath = set + "(" + strings.Join(sel, ",") + ")"
		if rest != "" {
			contextPath += "/" + rest
		}
	}
	return root + "/$metadata#" + contextPath
}

// userDefaultProperties are the properties Graph returns for a user
// without $select: "By default, only a limited set of properties are
// returned (businessPhones, displayName, givenName, id, jobTitle, mail,
// mobilePhone, officeLocation, preferredLanguage, surname, and
// userPrincipalName)" (https://learn.microsoft.com/graph/api/resources/user,
// Properties; https://learn.microsoft.com/graph/api/user-get). Everything
// else — accountEnabled, passwordPolicies, onPremisesSyncEnabled — must be
// asked for with $select.
var userDefaultProperties = []string{"businessPhones", "displayName", "givenName", "id", "jobTitle", "mail",
	"mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"}

// userView renders a user as GET /users/{id} does: the default property set
// without $select (every default present, null when unset), exactly the
// selected properties with it.
func userView(full map[string]any, sel []string) map[string]any {
	if sel != nil {
		out := map[string]any{}
		for _, k := range sel {
			out[k] = full[k] // a property the user does not have is null
		}
		return out
	}
	out := map[string]any{}
	for _, k := range userDefaultProperties {
		out[k] = full[k]
	}
	if out["businessPhones"] == nil {
		out["businessPhones"] = []any{}
	}
	return out
}

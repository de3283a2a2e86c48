package graphemu

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// plainGet is a client that is not ours: net/http, a bearer token, JSON.
func plainGet(t *testing.T, e *Emulator, tok, u string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// followAll reads a collection as the Graph paging guide says a client
// must (https://learn.microsoft.com/graph/paging): request, then follow
// @odata.nextLink until an answer has none. It returns the items and the
// size of each page.
func followAll(t *testing.T, e *Emulator, tok, u string) ([]map[string]any, []int) {
	t.Helper()
	var items []map[string]any
	var pages []int
	for u != "" {
		code, body := plainGet(t, e, tok, u)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %v", u, code, body)
		}
		if ctx, _ := body["@odata.context"].(string); !strings.HasPrefix(ctx, "https://graph.microsoft.com/") {
			t.Fatalf("GET %s: @odata.context %q", u, ctx)
		}
		vals, _ := body["value"].([]any)
		pages = append(pages, len(vals))
		for _, v := range vals {
			items = append(items, v.(map[string]any))
		}
		u, _ = body["@odata.nextLink"].(string)
		if len(pages) > 100 {
			t.Fatal("more than 100 pages")
		}
	}
	return items, pages
}

func startBig(t *testing.T) (*Emulator, string, string) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	e, err := New(Config{State: RealSizeState(now)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	tok, err := e.IssueToken(TokenClaims{Roles: []string{"GroupMember.Read.All", "Policy.Read.All", "AuditLog.Read.All",
		"User.Read.All", "RoleManagement.Read.Directory", "UserAuthenticationMethod.Read.All"}})
	if err != nil {
		t.Fatal(err)
	}
	return e, tok, DefaultState().Users[0].ID
}

// Every collection is served in pages at Graph's documented default size,
// and a client that follows @odata.nextLink reads all of it exactly once.
func TestCollectionsPageAtGraphDefaultSizes(t *testing.T) {
	e, tok, bg := startBig(t)
	since := url.QueryEscape(time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339))
	for _, c := range []struct {
		path  string
		total int
		pages []int
	}{
		// transitiveMemberOf: 100 a page (group-list-transitivememberof).
		{"/v1.0/users/" + bg + "/transitiveMemberOf", 150, []int{100, 50}},
		{"/v1.0/identity/conditionalAccess/policies", 200, []int{100, 100}},
		// sign-ins: 1,000 a page (signin-list).
		{"/v1.0/auditLogs/signIns?$filter=" + url.QueryEscape("userId eq '"+bg+"' and createdDateTime ge ") + since, 1200, []int{1000, 200}},
		{"/v1.0/auditLogs/directoryAudits", 1200, []int{1000, 200}},
	} {
		items, pages := followAll(t, e, tok, e.URL()+c.path)
		if fmt.Sprint(pages) != fmt.Sprint(c.pages) || len(items) != c.total {
			t.Errorf("%s: pages %v (%d items), want %v (%d)", c.path, pages, len(items), c.pages, c.total)
		}
		seen := map[any]bool{}
		for _, it := range items {
			if seen[it["id"]] {
				t.Errorf("%s: %v served twice", c.path, it["id"])
			}
			seen[it["id"]] = true
		}
	}
	// $top sets the page size, and the nextLink keeps it (and the filter).
	items, pages := followAll(t, e, tok, e.URL()+"/v1.0/auditLogs/signIns?$top=300&$filter="+
		url.QueryEscape("userId eq '"+bg+"' and createdDateTime ge ")+since)
	if fmt.Sprint(pages) != "[300 300 300 300]" || len(items) != 1200 {
		t.Errorf("$top=300: pages %v", pages)
	}
	// Most recent first (signin-list), across pages.
	for i := 1; i < len(items); i++ {
		if items[i-1]["createdDateTime"].(string) < items[i]["createdDateTime"].(string) {
			t.Fatalf(
				"sign-ins not newest first at %d: %v then %v",
				i,
				items[i-1]["createdDateTime"],
				items[i]["createdDateTime"],
			)
		}
	}
	_, pages = followAll(t, e, tok, e.URL()+"/v1.0/users/"+bg+"/transitiveMemberOf?$top=999")
	if fmt.Sprint(pages) != "[150]" {
		t.Errorf("transitiveMemberOf $top=999: pages %v", pages)
	}
	// Past the documented maximum: Graph's 400.
	for _, p := range []string{"/v1.0/users/" + bg + "/transitiveMemberOf?$top=1000", "/v1.0/auditLogs/signIns?$top=1001",
		"/v1.0/identity/conditionalAccess/policies?$top=0", "/v1.0/identity/conditionalAccess/policies?$top=x",
		"/v1.0/identity/conditionalAccess/policies?$skiptoken=bogus"} {
		code, body := plainGet(t, e, tok, e.URL()+p)
		if code != http.StatusBadRequest || body["error"] == nil {
			t.Errorf("%s: %d %v, want a 400 in Graph's error shape", p, code, body)
		}
	}
}

// A user without $select is Graph's default property set; with $select,
// exactly the selected properties, and @odata.context names them
// (https://learn.microsoft.com/graph/api/resources/user, user-get example 3).
func TestUserSelectAndDefaultProperties(t *testing.T) {
	e, tok, bg := startBig(t)
	code, u := plainGet(t, e, tok, e.URL()+"/v1.0/users/"+bg)
	if code != http.StatusOK {
		t.Fatal(code, u)
	}
	for _, absent := range []string{"accountEnabled", "passwordPolicies", "onPremisesSyncEnabled", "userType"} {
		if _, ok := u[absent]; ok {
			t.Errorf("without $select the user has %s: %v", absent, u)
		}
	}
	for _, k := range userDefaultProperties {
		if _, ok := u[k]; !ok {
			t.Errorf("without $select the user lacks default property %s", k)
		}
	}
	if u["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#users/$entity" || u["id"] != bg {
		t.Errorf("default user: %v", u)
	}
	code, u = plainGet(t, e, tok, e.URL()+"/v1.0/users/"+bg+"?$select=id,accountEnabled,passwordPolicies")
	if code != http.StatusOK || len(u) != 4 || u["accountEnabled"] != true ||
		u["passwordPolicies"] != "DisablePasswordExpiration" ||
		u["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#users(id,accountEnabled,passwordPolicies)/$entity" {
		t.Errorf("$select=id,accountEnabled,passwordPolicies: %d %v", code, u)
	}
	// $select on a collection keeps only the selected properties (and the type).
	items, _ := followAll(t, e, tok, e.URL()+"/v1.0/users/"+bg+"/transitiveMemberOf?$select=id")
	if len(items) != 150 || len(items[0]) != 2 || items[0]["displayName"] != nil {
		t.Errorf("transitiveMemberOf $select=id: %d items, first %v", len(items), items[0])
	}
}

package enroll_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/internal/sim/emulated"
	"github.com/keyceremony/keyceremony/internal/sim/graphemu"
)

// pager stands between the client and the emulator and pages every
// collection answer as Graph does: at most size items, then an
// @odata.nextLink (Graph's paging: "@odata.nextLink ... contains a URL to
// the next page", learn.microsoft.com/graph/paging). endless makes each
// page link to another forever. It counts the pages it served per path.
type pager struct {
	base    http.RoundTripper
	size    int
	endless bool
	mu      sync.Mutex
	pages   map[string]int
}

func (p *pager) RoundTrip(r *http.Request) (*http.Response, error) {
	skip := 0
	if v := r.URL.Query().Get("$skiptoken"); v != "" {
		skip, _ = strconv.Atoi(v)
		q := r.URL.Query()
		q.Del("$skiptoken")
		u := *r.URL
		u.RawQuery = q.Encode()
		r = r.Clone(r.Context())
		r.URL = &u
	}
	resp, err := p.base.RoundTrip(r)
	if err != nil || r.Method != http.MethodGet || resp.StatusCode != 200 || !strings.Contains(r.URL.Path, "/v1.0/") {
		return resp, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var m map[string]json.RawMessage
	var list []json.RawMessage
	if json.Unmarshal(body, &m) != nil || json.Unmarshal(m["value"], &list) != nil {
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	// The emulator pages too (at Graph's default sizes): gather all of its
	// pages first, then serve them again in pages of p.size.
	for upstream := str(m["@odata.nextLink"]); upstream != ""; {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, upstream, nil)
		req.Header = r.Header.Clone()
		more, err := p.base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		b, _ := io.ReadAll(more.Body)
		more.Body.Close()
		var mm map[string]json.RawMessage
		var l []json.RawMessage
		if json.Unmarshal(b, &mm) != nil || json.Unmarshal(mm["value"], &l) != nil {
			return nil, fmt.Errorf("emulator page %s: %s", upstream, b)
		}
		list, upstream = append(list, l...), str(mm["@odata.nextLink"])
	}
	delete(m, "@odata.nextLink")
	p.mu.Lock()
	p.pages[r.URL.Path]++
	p.mu.Unlock()
	size := p.size
	if strings.HasSuffix(r.URL.Path, "/signIns") {
		size = max(size, 100) // 1,000 sign-ins in 10 pages, not 143
	}
	end := min(skip+size, len(list))
	if skip > len(list) {
		skip = len(list)
	}
	page, _ := json.Marshal(list[skip:end])
	m["value"] = page
	if end < len(list) || p.endless {
		next := *r.URL
		q := next.Query()
		q.Set("$skiptoken", strconv.Itoa(end))
		next.RawQuery = q.Encode()
		link, _ := json.Marshal(next.String())
		m["@odata.nextLink"] = link
	}
	out, _ := json.Marshal(m)
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// str reads a JSON string ("" if it is none).
func str(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// pagedClient is a client of ten whose answers come through a pager.
func pagedClient(t *testing.T, ten *emulated.Tenant, p *pager, maxPages int) *enroll.Client {
	t.Helper()
	p.base, p.pages = ten.Emu.HTTPClient().Transport, map[string]int{}
	c, err := enroll.New(ten.Cred, enroll.Options{Root: ten.Emu.URL(), HTTPClient: &http.Client{Transport: p},
		RetryDelay: time.Millisecond, MaxPages: maxPages})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Every collection the client reads is followed to its last page: an
// account in 150 groups (Graph pages transitiveMemberOf at 100), 200 CA
// policies, 1,000 sign-ins, audit events, role assignments and schedules,
// methods; each read here through pages of 7, and each collection really
// came in several pages. A policy or group on the last page counts.
func TestEveryCollectionIsReadToItsLastPage(t *testing.T) {
	ten, err := emulated.Start(emulated.Options{Dir: t.TempDir(), Roles: []string{"User.Read.All", "GroupMember.Read.All",
		"RoleManagement.Read.Directory", "Policy.Read.All", "AuditLog.Read.All", "UserAuthenticationMethod.ReadWrite.All",
		"Domain.Read.All", "PrivilegedEligibilitySchedule.Read.AzureADGroup", "PrivilegedAssignmentSchedule.Read.AzureADGroup"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ten.Close() })
	uid := ten.Emu.Snapshot().Users[0].ID
	now := time.Now()
	ten.Emu.Update(func(st *graphemu.State) {
		for i := 0; i < 150; i++ {
			st.Groups = append(st.Groups, graphemu.Group{ID: fmt.Sprintf("g-%03d", i), DisplayName: fmt.Sprint("group ", i), Members: []string{uid}})
		}
		for i := 0; i < 200; i++ {
			st.CAPolicies = append(st.CAPolicies, graphemu.CAPolicy{ID: fmt.Sprintf("ca-%03d", i), DisplayName: fmt.Sprint("policy ", i),
				State: "enabled", IncludeGroups: []string{fmt.Sprintf("g-%03d", i%150)}})
		}
		for i := 0; i < 1000; i++ {
			st.SignIns = append(st.SignIns, graphemu.SignIn{ID: fmt.Sprint("s", i), CreatedDateTime: now.Add(-time.Duration(i+1) * time.Minute),
				UserID: uid, AppDisplayName: "Azure Portal"})
		}
		for i := 0; i < 30; i++ {
			st.DirectoryAudits = append(st.DirectoryAudits, graphemu.DirectoryAudit{ID: fmt.Sprint("a", i), ActivityDateTime: now.Add(-time.Duration(i+1) * time.Minute),
				ActivityDisplayName: "Update user", Category: "UserManagement", Result: "success", TargetIDs: []string{uid}})
		}
		for i := 0; i < 20; i++ {
			st.RoleAssignments = append(st.RoleAssignments, graphemu.RoleAssignment{ID: fmt.Sprint("ra", i), PrincipalID: uid,
				RoleDefinitionID: fmt.Sprint("role-", i), DirectoryScopeID: "/"})
			st.RoleEligibilities = append(st.RoleEligibilities, graphemu.RoleSchedule{ID: fmt.Sprint("re", i), PrincipalID: uid, RoleDefinitionID: fmt.Sprint("role-", i), Status: "Provisioned"})
			st.AssignmentSched = append(st.AssignmentSched, graphemu.RoleSchedule{ID: fmt.Sprint("rs", i), PrincipalID: uid, RoleDefinitionID: fmt.Sprint("role-", i), Status: "Provisioned"})
			st.OtherMethods[uid] = append(st.OtherMethods[uid], graphemu.OtherMethod{ID: fmt.Sprint("m", i), ODataType: "#microsoft.graph.emailAuthenticationMethod"})
			st.Methods[uid] = append(st.Methods[uid], &graphemu.Method{ID: fmt.Sprint("f", i), DisplayName: fmt.Sprint("BG1 key ", i), CreatedDateTime: now})
			// Domains and PIM for Groups' instances (issue 27's reads).
			if st.Directory == nil {
				st.Directory = map[string][]map[string]any{}
			}
			st.Directory["domains"] = append(st.Directory["domains"],
				map[string]any{"id": fmt.Sprintf("d%d.contoso.com", i), "isInitial": false})
			for _, what := range []string{"eligibilityScheduleInstances", "assignmentScheduleInstances"} {
				st.Directory[what] = append(st.Directory[what], map[string]any{"id": fmt.Sprint(what, i),
					"accessId": "member", "principalId": uid, "groupId": fmt.Sprintf("g-%03d", i)})
			}
		}
	})
	p := &pager{size: 7}
	c := pagedClient(t, ten, p, 0)
	x := ctx(t)
	groups, err := c.GroupsOf(x, uid)
	if err != nil || len(groups) != 150 || groups[149] != "g-149" {
		t.Fatalf("groups: %d %v", len(groups), err)
	}
	ca, err := c.ConditionalAccessPolicies(x)
	if err != nil || len(ca) != 202 || ca[201].ID != "ca-199" { // the default tenant's two, and 200
		t.Fatalf("CA policies: %d %v", len(ca), err)
	}
	sis, err := c.SignInsSince(x, uid, now.Add(-48*time.Hour))
	if err != nil || len(sis) != 1000 {
		t.Fatalf("sign-ins: %d %v", len(sis), err)
	}
	for i := 1; i < len(sis); i++ {
		if sis[i].Time.After(sis[i-1].Time) {
			t.Fatalf("sign-ins not newest first at %d: %v after %v", i, sis[i].Time, sis[i-1].Time)
		}
	}
	audits, err := c.AuditEventsSince(x, uid, now.Add(-48*time.Hour))
	if err != nil || len(audits) != 30 {
		t.Fatalf("audits: %d %v", len(audits), err)
	}
	roles, err := c.RolesOf(x, uid)
	if err != nil || len(roles.Active) < 20 || len(roles.Eligible) != 20 || len(roles.ActiveSched) < 20 {
		t.Fatalf("roles: %d %d %d %v", len(roles.Active), len(roles.Eligible), len(roles.ActiveSched), err)
	}
	ms, err := c.AuthenticationMethods(x, uid)
	if err != nil || len(ms) < 40 {
		t.Fatalf("methods: %d %v", len(ms), err)
	}
	if len(roles.GroupEligible) != 20 || len(roles.GroupActive) != 20 || roles.GroupActive[19] != "g-019" {
		t.Fatalf("PIM for Groups: %v %v (%s)", roles.GroupEligible, roles.GroupActive, roles.GroupPIMUnread)
	}
	if ds, err := c.Domains(x); err != nil || len(ds) != 20 || *ds[19].GetId() != "d19.contoso.com" {
		t.Fatalf("domains: %d %v", len(ds), err)
	}
	f2, err := c.ListFIDO2(x, uid)
	if err != nil || len(f2) != 20 {
		t.Fatalf("FIDO2 methods: %d %v", len(f2), err)
	}
	for _, path := range []string{"/v1.0/users/" + uid + "/transitiveMemberOf/graph.group", "/v1.0/domains",
		"/v1.0/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances",
		"/v1.0/identityGovernance/privilegedAccess/group/assignmentScheduleInstances",
		"/v1.0/identity/conditionalAccess/policies", "/v1.0/auditLogs/signIns",
		"/v1.0/auditLogs/directoryAudits", "/v1.0/roleManagement/directory/roleAssignments", "/v1.0/roleManagement/directory/roleEligibilitySchedules",
		"/v1.0/roleManagement/directory/roleAssignmentSchedules", "/v1.0/users/" + uid + "/authentication/methods",
		"/v1.0/users/" + uid + "/authentication/fido2Methods"} {
		if p.pages[path] < 3 {
			t.Errorf("%s came in %d pages", path, p.pages[path])
		}
	}
}

// A collection whose nextLink never ends is an error past the bound that
// names the collection, never a partial answer.
func TestEndlessPagesStopWithAClearError(t *testing.T) {
	ten, err := emulated.Start(emulated.Options{Dir: t.TempDir(), Roles: []string{"GroupMember.Read.All", "Policy.Read.All"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ten.Close() })
	uid := ten.Emu.Snapshot().Users[0].ID
	p := &pager{size: 1, endless: true}
	c := pagedClient(t, ten, p, 25)
	groups, err := c.GroupsOf(ctx(t), uid)
	if err == nil || !strings.Contains(err.Error(), "group memberships") || !strings.Contains(err.Error(), "25 pages") || groups != nil {
		t.Fatalf("endless group pages: %v, %v", groups, err)
	}
	if _, err := c.ConditionalAccessPolicies(ctx(t)); err == nil || !strings.Contains(err.Error(), "conditional access policies") {
		t.Fatalf("endless CA pages: %v", err)
	}
	if n := p.pages["/v1.0/users/"+uid+"/transitiveMemberOf/graph.group"]; n > 25 {
		t.Fatalf("%d pages read past a bound of 25", n)
	}
}

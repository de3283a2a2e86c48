package armemu

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Roles the emulator grants (Azure built-in roles; Microsoft Learn, "Azure
// built-in roles"): Reader reads every resource, Log Analytics Reader also
// runs queries, Monitoring Contributor writes alert rules and action groups,
// Security Administrator writes Entra's diagnostic settings.
const (
	RoleReader            = "Reader"
	RoleLogAnalyticsRead  = "Log Analytics Reader"
	RoleMonitoringContrib = "Monitoring Contributor"
	RoleSecurityAdmin     = "Security Administrator"
	RoleLogAnalyticsWrite = "Log Analytics Contributor"
)

// Emulator is one emulated subscription with its workspace. Its fields are
// the state; change them only through its methods while it serves.
type Emulator struct {
	Subscription  string
	ResourceGroup string
	Workspace     string // the workspace's name
	CustomerID    string // the workspace's ID for queries
	// PageSize is how many items a list answers per page (nextLink for the
	// rest); 0 means 2, so every test walks more than one page.
	PageSize int

	mu        sync.Mutex
	roles     map[string]bool
	retention int
	diag      map[string]json.RawMessage // aadiam diagnostic settings by name
	rules     map[string]json.RawMessage // scheduledQueryRules by lower-case name
	groups    map[string]json.RawMessage // actionGroups by lower-case name
	alerts    []alert
	signins   []SignIn
	audit     []AuditEvent
	writes    []string       // "PUT path" of every write that changed something
	ops       map[string]int // long-running operations: polls left before Succeeded
	srv       *httptest.Server
}

type alert struct {
	rule  string
	start time.Time
	id    string
}

// New returns an emulator of an empty subscription holding one workspace
// whose retention is retentionDays, granting the given roles.
func New(retentionDays int, roles ...string) *Emulator {
	e := &Emulator{
		Subscription: "00000000-0000-0000-0000-00000000000a", ResourceGroup: "breakglass-monitoring",
		Workspace: "breakglass-logs", CustomerID: "bc089d7b-485c-4aff-a71e-c00f362d8d2f",
		retention: retentionDays, roles: map[string]bool{},
		diag: map[string]json.RawMessage{}, rules: map[string]json.RawMessage{}, groups: map[string]json.RawMessage{},
	}
	for _, r := range roles {
		e.roles[r] = true
	}
	return e
}

// Start serves the emulator over HTTPS on loopback and returns its URL and
// a client that trusts it.
func (e *Emulator) Start() (string, *http.Client) {
	e.srv = httptest.NewTLSServer(e)
	return e.srv.URL, e.srv.Client()
}

// CAPEM is the server's certificate (PEM), for a client to trust.
func (e *Emulator) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.srv.Certificate().Raw})
}

// Close stops the server.
func (e *Emulator) Close() {
	if e.srv != nil {
		e.srv.Close()
	}
}

// WorkspaceID is the workspace's ARM resource ID.
func (e *Emulator) WorkspaceID() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.OperationalInsights/workspaces/%s",
		e.Subscription, e.ResourceGroup, e.Workspace)
}

// SetRoles replaces the roles the signed-in principal holds.
func (e *Emulator) SetRoles(roles ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.roles = map[string]bool{}
	for _, r := range roles {
		e.roles[r] = true
	}
}

// Writes lists every write that changed the subscription, in order.
func (e *Emulator) Writes() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.writes)
}

// Put stores a resource as if created through ARM: kind is
// "diagnosticSettings", "scheduledQueryRules" or "actionGroups"; body is its
// JSON as ARM returns it.
func (e *Emulator) Put(kind, name string, body string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.store(kind)[strings.ToLower(name)] = json.RawMessage(body)
}

func (e *Emulator) store(kind string) map[string]json.RawMessage {
	switch kind {
	case "diagnosticSettings":
		return e.diag
	case "scheduledQueryRules":
		return e.rules
	}
	return e.groups
}

// SignIn adds a sign-in to the workspace's SigninLogs. When fire is true,
// every enabled rule with an action group whose query selects the sign-in
// fires an alert, as Azure Monitor would at its next evaluation; false
// emulates an alert that never fired.
func (e *Emulator) SignIn(s SignIn, fire bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.signins = append(e.signins, s)
	if !fire {
		return
	}
	for name, raw := range e.rules {
		var r ruleJSON
		if json.Unmarshal(raw, &r) != nil || !r.Properties.Enabled || len(r.Properties.Actions.ActionGroups) == 0 {
			continue
		}
		for _, c := range r.Properties.Criteria.AllOf {
			t, err := runKQL(c.Query, []SignIn{s}, s.Time, s.Time.Add(time.Second))
			if err == nil && t.hits() > 0 {
				e.alerts = append(e.alerts, alert{rule: r.ID, start: s.Time.Add(5 * time.Minute),
					id: fmt.Sprintf("%s-%d", name, len(e.alerts))})
				break
			}
		}
	}
}

// Audit adds a directory audit event to the workspace's AuditLogs.
func (e *Emulator) Audit(ev AuditEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.audit = append(e.audit, ev)
}

// hits is how many rows a rule's query returned, as "Number of results"
// alert logic counts them.
func (t *table) hits() int {
	if t.count && len(t.rows) == 1 {
		n, _ := t.rows[0][0].(int)
		return n
	}
	return len(t.rows)
}

type ruleJSON struct {
	ID         string `json:"id"`
	Properties struct {
		Enabled  bool `json:"enabled"`
		Criteria struct {
			AllOf []struct {
				Query string `json:"query"`
			} `json:"allOf"`
		} `json:"criteria"`
		Actions struct {
			ActionGroups []string `json:"actionGroups"`
		} `json:"actions"`
	} `json:"properties"`
}

// armError writes ARM's error shape (Azure/azure-rest-api-specs,
// specification/common-types/resource-management/v5/types.json,
// ErrorResponse: {"error": {"code", "message"}}).
func armError(w http.ResponseWriter, status int, code, format string, a ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	body := map[string]string{"code": code, "message": fmt.Sprintf(format, a...)}
	json.NewEncoder(w).Encode(map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// allowed answers 403 AuthorizationFailed, as ARM does, when no granted
// role carries action; its message names the action and the scope.
func (e *Emulator) allowed(w http.ResponseWriter, action, scope string, roles ...string) bool {
	if slices.ContainsFunc(roles, func(r string) bool { return e.roles[r] }) {
		return true
	}
	armError(
		w,
		http.StatusForbidden,
		"AuthorizationFailed",
		"The client 'officer@contoso.onmicrosoft.com' with object id '00000000-0000-0000-0000-0000000000ff' does not have "+
			"authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, "+
			"please refresh your credentials.",
		action,
		scope,
	)
	return false
}

// ServeHTTP routes ARM and Log Analytics requests.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		armError(w, http.StatusUnauthorized, "AuthenticationFailed",
			"Authentication failed. The 'Authorization' header is missing.")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p := strings.ToLower(r.URL.Path)
	sub := strings.ToLower("/subscriptions/" + e.Subscription)
	rg := sub + "/resourcegroups/" + strings.ToLower(e.ResourceGroup)
	ws := rg + "/providers/microsoft.operationalinsights/workspaces/" + strings.ToLower(e.Workspace)
	switch {
	case strings.HasPrefix(p, "/v1/workspaces/"):
		e.query(w, r)
	case strings.HasPrefix(p, "/providers/microsoft.aadiam/diagnosticsettings"):
		e.resource(w, r, "diagnosticSettings", strings.TrimPrefix(p, "/providers/microsoft.aadiam/diagnosticsettings"),
			"microsoft.aadiam/diagnosticSettings", RoleSecurityAdmin)
	case p == ws && r.Method == http.MethodPut:
		e.putWorkspace(w, r)
	case p == ws:
		e.workspace(w, r)
	case strings.HasPrefix(p, sub+"/providers/microsoft.operationalinsights/locations/westeurope/operationstatuses/"):
		e.operation(w, r, p[strings.LastIndex(p, "/")+1:])
	case p == sub+"/providers/microsoft.insights/scheduledqueryrules": // listBySubscription
		e.resource(w, r, "scheduledQueryRules", "", "Microsoft.Insights/scheduledQueryRules", RoleMonitoringContrib)
	case strings.HasPrefix(p, rg+"/providers/microsoft.insights/scheduledqueryrules"):
		e.resource(
			w,
			r,
			"scheduledQueryRules",
			strings.TrimPrefix(p, rg+"/providers/microsoft.insights/scheduledqueryrules"),
			"Microsoft.Insights/scheduledQueryRules",
			RoleMonitoringContrib,
		)
	case strings.HasPrefix(p, rg+"/providers/microsoft.insights/actiongroups"):
		e.resource(w, r, "actionGroups", strings.TrimPrefix(p, rg+"/providers/microsoft.insights/actiongroups"),
			"Microsoft.Insights/actionGroups", RoleMonitoringContrib)
	case p == sub+"/providers/microsoft.alertsmanagement/alerts":
		e.listAlerts(w, r)
	default:
		armError(w, http.StatusNotFound, "ResourceNotFound", "The resource '%s' was not found.", r.URL.Path)
	}
}

// workspace answers GET workspace (Azure/azure-rest-api-specs,
// specification/operationalinsights/resource-manager/Microsoft.OperationalInsights/
// stable/2022-10-01/examples/WorkspacesSubscriptionList.json: customerId,
// retentionInDays, provisioningState).
func (e *Emulator) workspace(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		armError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET is emulated for workspaces")
		return
	}
	if !e.allowed(
		w,
		"Microsoft.OperationalInsights/workspaces/read",
		e.WorkspaceID(),
		RoleReader,
		RoleLogAnalyticsRead,
	) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": e.WorkspaceID(), "name": e.Workspace, "type": "Microsoft.OperationalInsights/workspaces",
		"location": "westeurope",
		"properties": map[string]any{"customerId": e.CustomerID, "provisioningState": "Succeeded",
			"sku": map[string]string{"name": "PerGB2018"}, "retentionInDays": e.retention},
	})
}

// putWorkspace answers Workspaces_CreateOrUpdate, a long-running operation
// (Azure/azure-rest-api-specs, specification/operationalinsights/
// resource-manager/Microsoft.OperationalInsights/stable/2022-10-01/
// Workspaces.json: x-ms-long-running-operation, 200/201/202): 202 Accepted
// with an Azure-AsyncOperation URL the client polls until "Succeeded", as
// ARM's asynchronous operations do (Azure/azure-resource-manager-rpc,
// v1.0/async-api-reference.proposed.md). Only retentionInDays is taken.
func (e *Emulator) putWorkspace(w http.ResponseWriter, r *http.Request) {
	if !e.allowed(w, "Microsoft.OperationalInsights/workspaces/write", e.WorkspaceID(), RoleLogAnalyticsWrite) {
		return
	}
	var in struct {
		Properties struct {
			RetentionInDays int `json:"retentionInDays"`
		} `json:"properties"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil ||
		in.Properties.RetentionInDays < 30 || in.Properties.RetentionInDays > 730 {
		armError(
			w,
			http.StatusBadRequest,
			"InvalidParameter",
			"retentionInDays must be 30 to 730 (pay-as-you-go): %v",
			err,
		)
		return
	}
	if in.Properties.RetentionInDays != e.retention {
		e.writes = append(e.writes, "PUT "+r.URL.Path)
	}
	e.retention = in.Properties.RetentionInDays
	if e.ops == nil {
		e.ops = map[string]int{}
	}
	id := fmt.Sprintf("op-%d", len(e.ops)+1)
	e.ops[id] = 1 // one poll answers InProgress
	w.Header().Set("Azure-AsyncOperation", fmt.Sprintf("https://%s/subscriptions/%s/providers/"+
		"Microsoft.OperationalInsights/locations/westeurope/operationStatuses/%s?api-version=2022-10-01",
		r.Host, e.Subscription, id))
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusAccepted)
}

// operation answers a poll of a long-running operation's status.
func (e *Emulator) operation(w http.ResponseWriter, r *http.Request, id string) {
	left, ok := e.ops[id]
	if !ok {
		armError(w, http.StatusNotFound, "OperationNotFound", "operation %s was not found", id)
		return
	}
	status := "Succeeded"
	if left > 0 {
		status = "InProgress"
		e.ops[id] = left - 1
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": r.URL.Path, "name": id, "status": status})
}

// resource answers list, GET and PUT of one resource type. List pages
// follow ARM's nextLink (Azure/azure-rest-api-specs,
// specification/monitor/resource-manager/Microsoft.Insights/stable/2023-12-01/
// examples/listScheduledQueryRulesByResourceGroup.json); a missing resource
// is 404 ResourceNotFound; a PUT answers 201 when it creates and 200 when
// it replaces (createOrUpdateScheduledQueryRule.json), and is recorded as a
// write only when it changes the stored body.
func (e *Emulator) resource(w http.ResponseWriter, r *http.Request, kind, rest, typ, writer string) {
	name := strings.TrimPrefix(rest, "/")
	store := e.store(kind)
	scope := r.URL.Path
	switch {
	case r.Method == http.MethodGet && name == "":
		if !e.allowed(w, typ+"/read", scope, RoleReader, RoleLogAnalyticsRead, writer) {
			return
		}
		var names []string
		for n := range store {
			names = append(names, n)
		}
		slices.Sort(names)
		var items []json.RawMessage
		for _, n := range names {
			items = append(items, store[n])
		}
		e.page(w, r, items)
	case r.Method == http.MethodGet:
		if !e.allowed(w, typ+"/read", scope, RoleReader, RoleLogAnalyticsRead, writer) {
			return
		}
		body, ok := store[name]
		if !ok {
			armError(
				w,
				http.StatusNotFound,
				"ResourceNotFound",
				"The Resource '%s/%s' under resource group '%s' was not found.",
				typ,
				name,
				e.ResourceGroup,
			)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(body)
	case r.Method == http.MethodPut && name != "":
		if !e.allowed(w, typ+"/write", scope, writer) {
			return
		}
		var in map[string]any
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
			armError(w, http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid: %v", err)
			return
		}
		if kind == "actionGroups" {
			defaultReceiverStatus(in)
		}
		in["id"] = strings.TrimSuffix(r.URL.Path, "/")
		in["name"] = name
		in["type"] = typ
		out, _ := json.Marshal(in)
		old, existed := store[name]
		if !existed || !jsonEqual(old, out) {
			e.writes = append(e.writes, "PUT "+r.URL.Path)
		}
		store[name] = out
		status := http.StatusCreated
		if existed {
			status = http.StatusOK
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		w.Write(out)
	default:
		armError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "%s is not emulated here", r.Method)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// page answers one page of items and a nextLink to the rest ($skiptoken).
func (e *Emulator) page(w http.ResponseWriter, r *http.Request, items []json.RawMessage) {
	size := e.PageSize
	if size <= 0 {
		size = 2
	}
	skip, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
	skip = min(max(skip, 0), len(items))
	end := min(skip+size, len(items))
	out := map[string]any{"value": append([]json.RawMessage{}, items[skip:end]...)}
	if end < len(items) {
		u := url.URL{Scheme: "https", Host: r.Host, Path: r.URL.Path}
		q := r.URL.Query()
		q.Set("$skiptoken", strconv.Itoa(end))
		u.RawQuery = q.Encode()
		out["nextLink"] = u.String()
	}
	writeJSON(w, http.StatusOK, out)
}

// listAlerts answers Alerts Management's alert list for one rule
// (Azure/azure-rest-api-specs, specification/alertsmanagement/resource-manager/
// Microsoft.AlertsManagement/AlertsManagement/preview/2019-05-05-preview/
// examples/Alerts_List.json: value[].properties.essentials with
// startDateTime, monitorCondition, alertRule; nextLink paging), filtered by
// the alertRule and customTimeRange ("start/end") parameters.
func (e *Emulator) listAlerts(w http.ResponseWriter, r *http.Request) {
	scope := "/subscriptions/" + e.Subscription
	if !e.allowed(w, "Microsoft.AlertsManagement/alerts/read", scope, RoleReader, RoleLogAnalyticsRead) {
		return
	}
	q := r.URL.Query()
	from, to := time.Time{}, time.Now().Add(100*365*24*time.Hour)
	if tr := q.Get("customTimeRange"); tr != "" {
		a, b, ok := strings.Cut(tr, "/")
		var err1, err2 error
		from, err1 = time.Parse(time.RFC3339, a)
		to, err2 = time.Parse(time.RFC3339, b)
		if !ok || err1 != nil || err2 != nil {
			armError(w, http.StatusBadRequest, "BadRequest", "customTimeRange %q is not start/end in ISO 8601", tr)
			return
		}
	}
	var items []json.RawMessage
	for _, a := range e.alerts {
		if rule := q.Get("alertRule"); rule != "" && !strings.EqualFold(rule, a.rule) {
			continue
		}
		if a.start.Before(from) || a.start.After(to) {
			continue
		}
		raw, _ := json.Marshal(map[string]any{
			"id":   "/subscriptions/" + e.Subscription + "/providers/Microsoft.AlertsManagement/alerts/" + a.id,
			"type": "Microsoft.AlertsManagement/alerts", "name": a.id,
			"properties": map[string]any{"essentials": map[string]any{
				"severity": "Sev0", "signalType": "Log", "alertState": "New", "monitorCondition": "Fired",
				"monitorService": "Log Alerts V2", "targetResource": e.WorkspaceID(), "alertRule": a.rule,
				"startDateTime": a.start.UTC().
					Format(time.RFC3339),
				"lastModifiedDateTime": a.start.UTC().Format(time.RFC3339),
			}},
		})
		items = append(items, raw)
	}
	e.page(w, r, items)
}

// query answers POST /v1/workspaces/{id}/query as the Log Analytics query
// API does ({"tables": [{"name": "PrimaryResult", "columns", "rows"}]});
// a query the emulator cannot run is 400 BadArgumentError, as Log Analytics
// answers a query it refuses, never an empty result.
func (e *Emulator) query(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/workspaces/"), "/query")
	if !strings.EqualFold(id, e.CustomerID) {
		armError(w, http.StatusNotFound, "WorkspaceNotFoundError", "The workspace %s was not found", id)
		return
	}
	if !e.allowed(w, "Microsoft.OperationalInsights/workspaces/query/read", e.WorkspaceID(), RoleLogAnalyticsRead) {
		return
	}
	var body struct {
		Query    string `json:"query"`
		Timespan string `json:"timespan"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		armError(w, http.StatusBadRequest, "BadArgumentError", "The request had some invalid properties: %v", err)
		return
	}
	from, to, err := parseTimespan(body.Timespan)
	if err != nil {
		armError(w, http.StatusBadRequest, "BadArgumentError", "%v", err)
		return
	}
	t, err := runOn(body.Query, tables{signins: e.signins, audit: e.audit}, from, to)
	if err != nil {
		armError(w, http.StatusBadRequest, "BadArgumentError", "The request had some invalid properties: %v", err)
		return
	}
	rows := t.rows
	if rows == nil {
		rows = [][]any{}
	}
	result := map[string]any{"name": "PrimaryResult", "columns": t.cols, "rows": rows}
	writeJSON(w, http.StatusOK, map[string]any{"tables": []any{result}})
}

// parseTimespan reads an ISO 8601 interval "start/end" (the form azquery's
// TimeInterval sends); an empty one is all time.
func parseTimespan(s string) (time.Time, time.Time, error) {
	if s == "" {
		return time.Time{}, time.Now().Add(100 * 365 * 24 * time.Hour), nil
	}
	a, b, ok := strings.Cut(s, "/")
	from, err1 := time.Parse(time.RFC3339Nano, a)
	to, err2 := time.Parse(time.RFC3339Nano, b)
	if !ok || err1 != nil || err2 != nil {
		return time.Time{}, time.Time{}, errors.New("timespan must be an ISO 8601 interval start/end")
	}
	return from, to, nil
}

// defaultReceiverStatus sets each email receiver's read-only status to
// "Enabled" as ARM reports a new receiver (armmonitor EmailReceiver.Status:
// "The receiver status of the e-mail").
func defaultReceiverStatus(in map[string]any) {
	props, _ := in["properties"].(map[string]any)
	list, _ := props["emailReceivers"].([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok && m["status"] == nil {
			m["status"] = "Enabled"
		}
	}
}

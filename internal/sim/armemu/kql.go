package armemu

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SignIn is one row of the emulated workspace's SigninLogs table (the
// columns the audit and Microsoft's sample queries use; Azure Monitor Logs
// reference, "SigninLogs": TimeGenerated, UserId, UserPrincipalName,
// ResultType, AppDisplayName, IPAddress).
type SignIn struct {
	Time       time.Time
	UserID     string
	UPN        string
	ResultType string
	App        string
	IP         string
}

// AuditEvent is one row of the workspace's AuditLogs table (Azure Monitor
// Logs reference, "AuditLogs": TimeGenerated, OperationName, Category,
// Result, InitiatedBy and TargetResources, here as their JSON text).
type AuditEvent struct {
	Time            time.Time
	OperationName   string
	Category        string
	Result          string
	InitiatedBy     string
	TargetResources string
}

var auditColumns = []column{
	{"TimeGenerated", "datetime"}, {"OperationName", "string"}, {"Category", "string"},
	{"Result", "string"}, {"InitiatedBy", "dynamic"}, {"TargetResources", "dynamic"},
}

func (a AuditEvent) row() []any {
	return []any{a.Time.UTC().Format(time.RFC3339Nano), a.OperationName, a.Category, a.Result,
		a.InitiatedBy, a.TargetResources}
}

// tables is what the emulated workspace holds.
type tables struct {
	signins []SignIn
	audit   []AuditEvent
}

// table is a query's result as Log Analytics returns it: columns and rows.
type table struct {
	cols  []column
	rows  [][]any
	count bool
}

type column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

var signinColumns = []column{
	{"TimeGenerated", "datetime"}, {"UserId", "string"}, {"UserPrincipalName", "string"},
	{"ResultType", "string"}, {"AppDisplayName", "string"}, {"IPAddress", "string"},
}

func (s SignIn) row() []any {
	return []any{s.Time.UTC().Format(time.RFC3339Nano), s.UserID, s.UPN, s.ResultType, s.App, s.IP}
}

// errUnsupported is wrapped when a query uses KQL this emulator does not
// run: the audit must then say "could not check", never pass.
var errUnsupported = errors.New("the emulator cannot run this query")

// runKQL runs the query shapes Microsoft's page "Manage emergency access
// accounts in Microsoft Entra ID" shows (MicrosoftDocs/entra-docs,
// docs/identity/role-based-access-control/security-emergency-access.md,
// "Create an alert rule": `SigninLogs | project UserId | where UserId ==
// "…" or UserId == "…"`), plus `where Col in ("…", …)`, `where
// TimeGenerated > datetime(…)` and `summarize count()`, over the rows whose
// TimeGenerated lies in [from, to). Anything else is errUnsupported.
func runKQL(query string, rows []SignIn, from, to time.Time) (*table, error) {
	return runOn(query, tables{signins: rows}, from, to)
}

// runOn runs a query on the workspace's tables (SigninLogs, AuditLogs).
func runOn(query string, tabs tables, from, to time.Time) (*table, error) {
	stages := splitPipes(query)
	var t *table
	in := func(at time.Time) bool { return !at.Before(from) && at.Before(to) }
	switch strings.TrimSpace(stages[0]) {
	case "SigninLogs":
		t = &table{cols: slices.Clone(signinColumns)}
		for _, s := range tabs.signins {
			if in(s.Time) {
				t.rows = append(t.rows, s.row())
			}
		}
	case "AuditLogs":
		t = &table{cols: slices.Clone(auditColumns)}
		for _, a := range tabs.audit {
			if in(a.Time) {
				t.rows = append(t.rows, a.row())
			}
		}
	default:
		return nil, fmt.Errorf(
			"%w: only the SigninLogs and AuditLogs tables are emulated (query %q)",
			errUnsupported,
			query,
		)
	}
	for _, stage := range stages[1:] {
		stage = strings.TrimSpace(stage)
		op, rest, _ := strings.Cut(stage, " ")
		rest = strings.TrimSpace(rest)
		var err error
		switch op {
		case "where":
			err = t.where(rest)
		case "project":
			err = t.project(rest)
		case "summarize":
			err = t.summarize(rest)
		default:
			err = fmt.Errorf("%w: operator %q", errUnsupported, op)
		}
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}

// splitPipes splits a query at the pipes outside string literals and drops
// // comments.
func splitPipes(q string) []string {
	var lines []string
	for _, l := range strings.Split(q, "\n") {
		if i := strings.Index(l, "//"); i >= 0 && strings.Count(l[:i], `"`)%2 == 0 {
			l = l[:i]
		}
		lines = append(lines, l)
	}
	q = strings.Join(lines, " ")
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range q {
		switch {
		case r == '"':
			quoted = !quoted
		case r == '|' && !quoted:
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteRune(r)
	}
	return append(out, cur.String())
}

func (t *table) colIndex(name string) int {
	return slices.IndexFunc(t.cols, func(c column) bool { return c.Name == name })
}

// where keeps the rows a disjunction of `Col == "v"` / `Col in ("v", …)` /
// `TimeGenerated > datetime(…)` terms selects.
func (t *table) where(expr string) error {
	if t.count {
		return fmt.Errorf("%w: where after summarize", errUnsupported)
	}
	type term struct {
		col    int
		values []string
		after  *time.Time
		has    string
	}
	var terms []term
	for _, part := range splitOr(expr) {
		part = strings.TrimSpace(part)
		var col, rhs string
		var tm term
		switch {
		case strings.Contains(part, " has "):
			col, rhs, _ = strings.Cut(part, " has ")
			v, err := unquote(strings.TrimSpace(rhs))
			if err != nil {
				return err
			}
			tm.has = v
		case strings.Contains(part, "=="):
			col, rhs, _ = strings.Cut(part, "==")
			v, err := unquote(strings.TrimSpace(rhs))
			if err != nil {
				return err
			}
			tm.values = []string{v}
		case strings.Contains(part, " in ("):
			col, rhs, _ = strings.Cut(part, " in (")
			rhs = strings.TrimSpace(rhs)
			if !strings.HasSuffix(rhs, ")") {
				return fmt.Errorf("%w: %q", errUnsupported, part)
			}
			for _, v := range strings.Split(strings.TrimSuffix(rhs, ")"), ",") {
				s, err := unquote(strings.TrimSpace(v))
				if err != nil {
					return err
				}
				tm.values = append(tm.values, s)
			}
		case strings.Contains(part, ">") && strings.Contains(part, "datetime("):
			col, rhs, _ = strings.Cut(part, ">")
			rhs = strings.TrimSpace(rhs)
			inner := strings.TrimSuffix(strings.TrimPrefix(rhs, "datetime("), ")")
			at, err := time.Parse(time.RFC3339Nano, inner)
			if err != nil || !strings.HasPrefix(rhs, "datetime(") {
				return fmt.Errorf("%w: %q", errUnsupported, part)
			}
			tm.after = &at
		default:
			return fmt.Errorf("%w: where %q", errUnsupported, part)
		}
		tm.col = t.colIndex(strings.TrimSpace(col))
		if tm.col < 0 {
			return fmt.Errorf("%w: column %q is not in the table (project dropped it, or it is not emulated)",
				errUnsupported, strings.TrimSpace(col))
		}
		terms = append(terms, tm)
	}
	var kept [][]any
	for _, row := range t.rows {
		if slices.ContainsFunc(terms, func(tm term) bool {
			v, _ := row[tm.col].(string)
			if tm.has != "" {
				return strings.Contains(strings.ToLower(v), strings.ToLower(tm.has))
			}
			if tm.after != nil {
				at, err := time.Parse(time.RFC3339Nano, v)
				return err == nil && at.After(*tm.after)
			}
			return slices.Contains(tm.values, v)
		}) {
			kept = append(kept, row)
		}
	}
	t.rows = kept
	return nil
}

// splitOr splits at " or " outside string literals; "and" is not emulated.
func splitOr(expr string) []string {
	var out []string
	quoted := false
	start := 0
	for i := 0; i < len(expr); i++ {
		switch {
		case expr[i] == '"':
			quoted = !quoted
		case !quoted && strings.HasPrefix(expr[i:], " or "):
			out = append(out, expr[start:i])
			start = i + 4
			i += 3
		case !quoted && strings.HasPrefix(expr[i:], " and "):
			return []string{"and"} // refused by where: not emulated
		}
	}
	return append(out, expr[start:])
}

func unquote(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' || strings.Contains(s[1:len(s)-1], `"`) {
		return "", fmt.Errorf("%w: %q is not a plain string literal", errUnsupported, s)
	}
	return s[1 : len(s)-1], nil
}

func (t *table) project(list string) error {
	if t.count {
		return fmt.Errorf("%w: project after summarize", errUnsupported)
	}
	var idx []int
	var cols []column
	for _, name := range strings.Split(list, ",") {
		i := t.colIndex(strings.TrimSpace(name))
		if i < 0 {
			return fmt.Errorf("%w: project of unknown column %q", errUnsupported, strings.TrimSpace(name))
		}
		idx = append(idx, i)
		cols = append(cols, t.cols[i])
	}
	for r, row := range t.rows {
		out := make([]any, len(idx))
		for j, i := range idx {
			out[j] = row[i]
		}
		t.rows[r] = out
	}
	t.cols = cols
	return nil
}

// summarize runs `summarize count()` (column count_, as Log Analytics names
// an unnamed count).
func (t *table) summarize(expr string) error {
	if strings.ReplaceAll(expr, " ", "") != "count()" || t.count {
		return fmt.Errorf("%w: summarize %q (only count() is emulated)", errUnsupported, expr)
	}
	n := len(t.rows)
	t.cols = []column{{"count_", "long"}}
	t.rows = [][]any{{n}}
	t.count = true
	return nil
}

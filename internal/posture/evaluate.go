package posture

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keyceremony/keyceremony/enroll"
)

// Check outcomes.
const (
	Pass     = "pass"
	Finding  = "finding"
	CouldNot = "could-not-check"
)

const (
	roleGA   = "62e90394-69f5-4237-9190-012177145e10"
	pwMethod = "#microsoft.graph.passwordAuthenticationMethod"
)

// Check is one verified fact.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

type eval struct {
	s      *Snapshot
	checks []Check
	// heldVia names, for a role the account holds only through a
	// role-assignable group, that group (the path a policy takes).
	heldVia map[string]string
	// roleEnds says, for a role the account holds only until a day (its
	// assignment schedule ends, or the PIM for Groups membership or the
	// group's own assignment it holds it through), when: an exclusion
	// through that role lasts only until then.
	roleEnds map[string]string
}

func (e *eval) add(name, status, format string, a ...any) {
	e.checks = append(e.checks, Check{Name: name, Status: status, Detail: fmt.Sprintf(format, a...)})
}

// readErr records a failed Graph read: a 403 is "could not check" with the
// permission the service named; anything else too, with the error.
func (e *eval) readErr(name string, err error) {
	var ge *enroll.GraphError
	if errors.As(err, &ge) && ge.Status == 403 {
		e.add(name, CouldNot, "not permitted: %s", ge.Message)
		return
	}
	e.add(name, CouldNot, "%v", err)
}

// Evaluate judges the snapshot; it does no I/O.
func Evaluate(s *Snapshot) []Check {
	e := &eval{s: s}
	if s.UserErr != nil || s.User == nil {
		e.readErr("account", s.UserErr)
		return e.checks
	}
	e.cloudOnly()
	e.enabled()
	e.passwordExpiry()
	roles := e.roles()
	e.conditionalAccess(roles)
	e.exclusionGroups()
	e.fido2Policy()
	e.accounts()
	return e.checks
}

func (e *eval) cloudOnly() {
	u := e.s.User
	const name = "cloud-only account"
	switch {
	case u.OnPremisesSyncEnabled != nil && *u.OnPremisesSyncEnabled:
		e.add(name, Finding, "%s is synced from on-premises: a break-glass account must be cloud-only", u.UPN)
	case u.OnPremisesImmutableID != "":
		// ScubaGear MS.AAD.7.3v1: a privileged user is cloud-only when
		// OnPremisesImmutableId is null (cisagov/ScubaGear,
		// PowerShell/ScubaGear/Testing/Unit/Rego/AAD/AADConfig_07_test.rego,
		// commit 64f4742b2d1965118e103cb1ec38cc628f3bcf0b).
		e.add(name, Finding, "%s has onPremisesImmutableId %q: it is tied to an on-premises identity "+
			"(ScubaGear MS.AAD.7.3 requires it empty)", u.UPN, u.OnPremisesImmutableID)
	default:
		e.initialDomain()
	}
}

func (e *eval) enabled() {
	u := e.s.User
	if u.AccountEnabled == nil {
		// Graph returns accountEnabled only on $select, as null when it
		// did not read it (microsoft-graph-docs-contrib, api-reference/
		// v1.0/resources/user.md, commit fef668e772bfce4c8c50063c8c05dbb0f1eb4912):
		// absent, it is no evidence that the account can sign in.
		e.add("account enabled", CouldNot, "the user read did not return accountEnabled for %s: whether it can "+
			"sign in is not known", u.UPN)
		return
	}
	if !*u.AccountEnabled {
		e.add(
			"account enabled",
			Finding,
			"%s is disabled (accountEnabled false): it cannot sign in in an emergency",
			u.UPN,
		)
	} else {
		e.add("account enabled", Pass, "%s is enabled", u.UPN)
	}
}

// tenantWide reports whether a role assignment's scope is the whole
// directory. Roles scoped to an administrative unit do not count for
// Conditional Access: "Conditional Access policies don't support
// administrative unit-scoped role assignments" (Microsoft Learn,
// Conditional Access users, groups and roles: "Include roles").
func tenantWide(scope string) bool { return scope == "" || scope == "/" }

// roles checks Global Administrator and returns the directory roles the
// account holds actively across the tenant (nil when they could not be
// read, which Conditional Access must then treat as unknown).
func (e *eval) roles() []string {
	if e.s.RolesErr != nil || e.s.Roles == nil {
		e.readErr("Global Administrator", e.s.RolesErr)
		return nil
	}
	s := e.s
	roles := s.Roles
	held := []string{}
	var scoped []string
	for _, a := range roles.Active {
		if tenantWide(a.Scope) {
			held = append(held, a.RoleDefinitionID)
		} else {
			scoped = append(scoped, fmt.Sprintf("%s at %s", roleName(a.RoleDefinitionID), a.Scope))
		}
	}
	active := slices.Contains(held, roleGA)
	// Global Administrator through a role-assignable group that holds the
	// account counts as held (Microsoft Learn, "Use Microsoft Entra groups
	// to manage role assignments"); Conditional Access aimed at the role
	// reaches the account through it too.
	viaGroup := ""
	for _, a := range roles.GlobalAdmins {
		if tenantWide(a.Scope) && slices.Contains(s.Groups, a.PrincipalID) {
			viaGroup = a.PrincipalID
		}
	}
	// PIM for Groups (Microsoft Learn, "Privileged Identity Management
	// (PIM) for Groups"): an active membership through PIM of a group
	// holding the role is held; an eligible one is not, until activated.
	viaPIM, eligibleVia := "", ""
	for _, a := range roles.GlobalAdmins {
		switch {
		case !tenantWide(a.Scope):
		case slices.Contains(roles.GroupActive, a.PrincipalID):
			viaPIM = a.PrincipalID
		case slices.Contains(roles.GroupEligible, a.PrincipalID):
			eligibleVia = a.PrincipalID
		}
	}
	if viaGroup == "" && viaPIM != "" {
		viaGroup = viaPIM
	}
	if !active && viaGroup != "" {
		active = true
		held = append(held, roleGA)
	}
	eligible := slices.ContainsFunc(
		roles.Eligible,
		func(s enroll.RoleSchedule) bool { return s.RoleDefinitionID == roleGA },
	)
	const onlyEligible = "only eligible through PIM, not active: in an emergency the account would have to activate it"
	pimNote := ""
	if roles.GroupPIMUnread != "" {
		pimNote = " (PIM for Groups could not be read: " + roles.GroupPIMUnread + ")"
	}
	var expiring *time.Time
	for _, s := range roles.ActiveSched {
		if s.RoleDefinitionID == roleGA && s.Expires != nil {
			expiring = s.Expires
		}
	}
	direct := slices.ContainsFunc(roles.Active, func(a enroll.RoleAssignment) bool {
		return a.RoleDefinitionID == roleGA && tenantWide(a.Scope)
	})
	// The group's own assignment of the role may be time-bound (its PIM
	// assignment schedule, read with the group's roles): when it ends,
	// its members lose the role. Unread, it is not called permanent.
	var groupExpires *time.Time
	groupUnread := ""
	if !direct && viaGroup != "" && slices.Contains(s.Groups, viaGroup) {
		switch gr := s.GroupRoles[viaGroup]; {
		case s.GroupRolesErr != nil && gr == nil:
			groupUnread = s.GroupRolesErr.Error()
		case gr == nil:
			groupUnread = "the group's role assignment schedules were not read"
		default:
			for _, sc := range gr.ActiveSched {
				if sc.RoleDefinitionID == roleGA && sc.Expires != nil {
					groupExpires = sc.Expires
				}
			}
		}
	}
	switch {
	case !active && eligible:
		e.add("Global Administrator", Finding, "%s", onlyEligible)
	case !active && eligibleVia != "":
		e.add("Global Administrator", Finding, "%s (eligible member, through PIM for Groups, of role-assignable group "+
			"%s, which holds the role)", onlyEligible, eligibleVia)
	case !active && len(scoped) > 0:
		e.add("Global Administrator", Finding, "not assigned tenant-wide (only scoped to administrative units: %s)%s",
			strings.Join(scoped, ", "), pimNote)
	case !active:
		e.add("Global Administrator", Finding, "not assigned%s", pimNote)
	case expiring != nil && expiring.IsZero():
		e.add("Global Administrator", Finding, "active but time-bound (its assignment schedule expires, at an end "+
			"Graph did not give): it must be permanent")
	case expiring != nil:
		e.add(
			"Global Administrator",
			Finding,
			"active but expires %s: it must be permanent",
			expiring.Format(time.RFC3339),
		)
	case !direct && groupExpires != nil:
		end := groupExpires.Format(time.RFC3339)
		if groupExpires.IsZero() {
			end = "(time-bound, at an end Graph did not give)"
		}
		e.add("Global Administrator", Finding, "active through role-assignable group %s, but the group's assignment "+
			"of the role ends %s: it must be permanent", viaGroup, end)
	case !direct && viaGroup != "" && hasEnd(roles.GroupActiveExpires, viaGroup):
		e.add("Global Administrator", Finding, "active through role-assignable group %s, but the account's membership "+
			"through PIM for Groups ends %s: it must be permanent", viaGroup,
			roles.GroupActiveExpires[viaGroup].Format(time.RFC3339))
	case !direct && viaGroup != "" && groupUnread != "":
		e.add("Global Administrator", CouldNot, "active through role-assignable group %s, but whether the group's "+
			"assignment of the role is permanent could not be read (%s)", viaGroup, groupUnread)
	case !direct && viaGroup != "" && roles.GroupPIMUnread != "" && !roles.GroupPIMUnlicensed:
		// The membership may be a PIM for Groups activation that ends:
		// unread, it is not called permanent.
		e.add("Global Administrator", CouldNot, "active through role-assignable group %s, which holds the account, "+
			"but whether that membership is permanent could not be read (PIM for Groups: %s)", viaGroup,
			roles.GroupPIMUnread)
	case !direct && viaGroup != "":
		how := "which holds the account"
		if viaGroup == viaPIM {
			how = "of which the account is an active member through PIM for Groups"
		}
		e.add("Global Administrator", Pass, "active through role-assignable group %s, %s", viaGroup, how)
	case roles.PIMUnlicensed:
		e.add(
			"Global Administrator",
			Pass,
			"active through a permanent role assignment (the tenant has no Entra ID P2: "+
				"PIM answered AadPremiumLicenseRequired, so there are no PIM schedules)",
		)
	default:
		e.add("Global Administrator", Pass, "active and permanent")
	}
	e.globalAdminCount(roles.GlobalAdmins)
	// The roles of the role-assignable groups that hold the account are
	// its roles too (Microsoft Learn, "Use Microsoft Entra groups to manage
	// role assignments"), tenant-wide ones only: Conditional Access does
	// not take roles scoped to an administrative unit. Unread, a policy
	// aimed at a role cannot be judged.
	if s.GroupRolesErr != nil {
		return nil
	}
	e.heldVia, e.roleEnds = map[string]string{}, map[string]string{}
	for _, sc := range roles.ActiveSched {
		if sc.Expires != nil {
			e.roleEnds[sc.RoleDefinitionID] = until(*sc.Expires)
		}
	}
	for gid, gr := range s.GroupRoles {
		for _, a := range gr.Active {
			if tenantWide(a.Scope) && !slices.Contains(held, a.RoleDefinitionID) {
				held = append(held, a.RoleDefinitionID)
				e.heldVia[a.RoleDefinitionID] = s.groupLabel(gid)
				if end, ok := roles.GroupActiveExpires[gid]; ok {
					e.roleEnds[a.RoleDefinitionID] = until(end) + " (PIM for Groups membership)"
				}
				for _, sc := range gr.ActiveSched {
					if sc.RoleDefinitionID == a.RoleDefinitionID && sc.Expires != nil {
						e.roleEnds[a.RoleDefinitionID] = until(*sc.Expires) + " (the group's assignment)"
					}
				}
			}
		}
	}
	return held
}

// globalAdminCount checks the tenant's Global Administrators: at least 2
// and at most 8 (ScubaGear and Maester MS.AAD.7.1v1: fixtures
// test_PrivilegedUsers_Incorrect_V1 with 1 and _V2 with 9 fail, _Correct
// with 2 passes; cisagov/ScubaGear PowerShell/ScubaGear/Testing/Unit/Rego/
// AAD/AADConfig_07_test.rego, commit 64f4742b2d1965118e103cb1ec38cc628f3bcf0b).
// It counts the principals of the active tenant-wide assignments. Every
// member of a role-assignable group holding the role is a Global
// Administrator too (ScubaGear counts "members reached transitively
// through assigned groups": cisagov/ScubaGear, PowerShell/ScubaGear/
// Modules/Providers/ExportAADProvider.psm1, Get-PrivilegedUser, commit
// 4d34e9a48e38ce5c2e14c0fdfbaee53e57594ae2), and the audit does not read
// groups' members: where a principal is a group it knows of (one holding
// the account), more than 8 principals is still a finding, anything else
// could not be counted, never a pass.
func (e *eval) globalAdminCount(holders []enroll.RoleAssignment) {
	seen := map[string]bool{}
	var groups []string
	for _, a := range holders {
		if tenantWide(a.Scope) && !seen[a.PrincipalID] {
			seen[a.PrincipalID] = true
			if slices.Contains(e.s.Groups, a.PrincipalID) {
				groups = append(groups, a.PrincipalID)
			}
		}
	}
	n := len(seen)
	note := " (principals of active tenant-wide assignments; a group counts once)"
	switch {
	case n <= 8 && len(groups) > 0:
		e.add("Global Administrators", CouldNot, "%d principals hold Global Administrator, among them "+
			"role-assignable group %s, whose members each hold it and were not counted: count them "+
			"(2 to 8: ScubaGear and Maester MS.AAD.7.1)", n, strings.Join(groups, ", "))
	case n < 2:
		e.add(
			"Global Administrators",
			Finding,
			"%d Global Administrator%s: fewer than 2 (ScubaGear and Maester MS.AAD.7.1)",
			n,
			note,
		)
	case n > 8:
		e.add(
			"Global Administrators",
			Finding,
			"%d Global Administrators%s: more than 8 (ScubaGear and Maester MS.AAD.7.1)",
			n,
			note,
		)
	default:
		e.add("Global Administrators", Pass, "%d Global Administrators%s: between 2 and 8", n, note)
	}
}

// until names when a time-bound assignment ends (the zero time: an end
// Graph did not give).
func until(t time.Time) string {
	if t.IsZero() {
		return "until an end Graph did not give"
	}
	return "until " + t.Format(time.RFC3339)
}

// hasEnd reports whether group's active PIM for Groups membership ends.
func hasEnd(ends map[string]time.Time, group string) bool {
	_, ok := ends[group]
	return ok
}

// roleName names the directory roles a policy is likely to target.
func roleName(id string) string {
	if id == roleGA {
		return "Global Administrator"
	}
	return id
}

func firstHeld(list, held []string) string {
	for _, x := range list {
		if slices.Contains(held, x) {
			return x
		}
	}
	return ""
}

// conditionalAccess evaluates each Conditional Access policy the way Entra
// does for the account (Microsoft Learn, "Conditional Access: users, groups
// and roles"): it reaches the account when it includes All users, the
// account, a group that holds it (transitively) or a tenant-wide directory
// role it holds, unless it excludes the account, such a group or such a
// role. What the audit could not read (groups, roles) makes a policy that
// names them "could not check", never "does not apply". Each policy that
// reaches the account is judged by what it would demand at an emergency
// sign-in (judge); report-only policies are listed apart.
func (e *eval) conditionalAccess(roles []string) {
	s := e.s
	if s.PoliciesErr != nil {
		e.readErr("Conditional Access", s.PoliciesErr)
		return
	}
	u := s.User
	var unknown, satisfied, sessionOnly, elsewhere, reportOnly, disabled, protecting, weak, narrow []string
	lockouts := 0
	// ours: for each policy the audit could judge, whether it takes part
	// in the account's emergency sign-in (compared with Entra's What If).
	ours := map[string]string{}
	for _, p := range s.Policies {
		var why []string
		if s.GroupsErr != nil && (len(p.IncludeGroups) > 0 || len(p.ExcludeGroups) > 0) {
			why = append(why, fmt.Sprintf("the account's groups could not be read (%v)", s.GroupsErr))
		}
		if roles == nil && (len(p.IncludeRoles) > 0 || len(p.ExcludeRoles) > 0) {
			err := s.RolesErr
			if err == nil {
				err = s.GroupRolesErr
			}
			why = append(why, fmt.Sprintf("the account's roles could not be read (%v)", err))
		}
		if len(why) > 0 {
			if p.State != "disabled" {
				unknown = append(unknown, fmt.Sprintf("%q (%s)", p.Name, strings.Join(why, "; ")))
			}
			continue
		}
		via := ""
		switch {
		case slices.Contains(p.IncludeUsers, "All"):
			via = "all users"
		case slices.Contains(p.IncludeUsers, u.ID):
			via = "the account"
		case firstHeld(p.IncludeGroups, s.Groups) != "":
			via = "group " + firstHeld(p.IncludeGroups, s.Groups)
		case firstHeld(p.IncludeRoles, roles) != "":
			role := firstHeld(p.IncludeRoles, roles)
			via = "role " + roleName(role)
			if g := e.heldVia[role]; g != "" {
				via += ", held through role-assignable group " + g
			}
		}
		// An exclusion through a group the account is in only by a PIM
		// for Groups membership that ends (Roles.GroupActiveExpires) lasts
		// until then: the policy is judged as if it applied, since after
		// that day it does.
		excluded := slices.Contains(p.ExcludeUsers, u.ID)
		var ends []string
		for _, r := range p.ExcludeRoles {
			switch {
			case !slices.Contains(roles, r):
			case e.roleEnds[r] != "":
				ends = append(ends, "role "+roleName(r)+" "+e.roleEnds[r])
			default:
				excluded = true
			}
		}
		for _, g := range p.ExcludeGroups {
			if !slices.Contains(s.Groups, g) {
				continue
			}
			if s.Roles != nil && hasEnd(s.Roles.GroupActiveExpires, g) {
				ends = append(ends, fmt.Sprintf("group %s until %s", g,
					s.Roles.GroupActiveExpires[g].Format(time.RFC3339)))
				continue
			}
			excluded = true
		}
		if via == "" || excluded {
			ours[p.ID] = ""
			continue
		}
		if len(ends) > 0 {
			via += "; excluded only through memberships or roles that end: " + strings.Join(ends, ", ")
		}
		line := fmt.Sprintf("%q (through %s)", p.Name, via)
		ours[p.ID] = line
		if len(ends) > 0 {
			delete(ours, p.ID) // today Entra rightly says the exclusion holds: no second opinion
		}
		if p.State == "disabled" {
			// Maester MT.1005 flags a policy without the exclusion even
			// when disabled: a note, since it demands nothing today.
			disabled = append(disabled, line)
			continue
		}
		v := judge(p, s.AAGUIDs)
		if !v.atSignIn {
			ours[p.ID] = ""
		}
		if v.flowOnly {
			// The What If request describes no authentication flow, so
			// Entra's answer for such a policy is no second opinion.
			delete(ours, p.ID)
		}
		switch {
		case !v.atSignIn:
			elsewhere = append(elsewhere, fmt.Sprintf("%s: %s", line, v.demand))
		case p.State == "enabledForReportingButNotEnforced":
			if v.lockout {
				reportOnly = append(reportOnly, fmt.Sprintf("%s would demand %s", line, v.demand))
			}
		case v.lockout:
			lockouts++
			e.add(
				"Conditional Access",
				Finding,
				"%s would demand %s at an emergency sign-in: the account could be locked out",
				line,
				v.demand,
			)
		case v.sessionOnly:
			sessionOnly = append(sessionOnly, fmt.Sprintf("%s: %s", line, v.demand))
		default:
			satisfied = append(satisfied, fmt.Sprintf("%s: %s", line, v.demand))
			if v.phishingResistant {
				protecting = append(protecting, line)
			} else if v.narrow != "" {
				narrow = append(narrow, fmt.Sprintf("%s (only for %s)", line, v.narrow))
			} else if v.weakStrength {
				weak = append(weak, line)
			}
		}
	}
	switch {
	case lockouts > 0:
	case len(unknown) > 0:
		e.add("Conditional Access", CouldNot, "cannot judge %s", strings.Join(unknown, ", "))
	default:
		detail := fmt.Sprintf("no enforced policy would lock the account out (%d policies)", len(s.Policies))
		for _, l := range []struct {
			what string
			list []string
		}{
			{"the keys satisfy", satisfied},
			{"session controls only", sessionOnly},
			{"not at an admin-portal sign-in", elsewhere},
		} {
			if len(l.list) > 0 {
				detail += fmt.Sprintf("; %s: %s", l.what, strings.Join(l.list, ", "))
			}
		}
		e.add("Conditional Access", Pass, "%s", detail)
	}
	if lockouts > 0 && len(unknown) > 0 {
		e.add("Conditional Access", CouldNot, "cannot judge %s", strings.Join(unknown, ", "))
	}
	if len(reportOnly) > 0 {
		e.add(
			"Conditional Access (report-only)",
			Finding,
			"report-only policies that would lock the account out once enforced: %s",
			strings.Join(reportOnly, ", "),
		)
	}
	if len(disabled) > 0 {
		e.add("Conditional Access (disabled)", Pass, "note: disabled policies that do not exclude the account: %s",
			strings.Join(disabled, ", "))
	}
	e.whatIf(ours)
	// Microsoft's guidance: protect emergency access accounts with a policy
	// that requires phishing-resistant authentication they can satisfy
	// (Microsoft Learn, "Manage emergency access accounts in Microsoft
	// Entra ID": "use a Conditional Access policy ... phishing-resistant
	// authentication strength").
	if len(protecting) > 0 {
		e.add("Conditional Access (phishing-resistant)", Pass, "the keys satisfy %s", strings.Join(protecting, ", "))
	} else if len(unknown) == 0 {
		also := ""
		if len(weak) > 0 {
			also = fmt.Sprintf(" (%s admit the keys but let weaker methods or other controls through too)",
				strings.Join(weak, ", "))
		}
		if len(narrow) > 0 {
			also += fmt.Sprintf(" (%s require it only of some sign-ins: the others are not protected)",
				strings.Join(narrow, ", "))
		}
		e.add("Conditional Access (phishing-resistant)", Finding, "no enabled policy requires of the account a "+
			"phishing-resistant authentication strength that admits its FIDO2 keys%s: Microsoft advises protecting "+
			"emergency access accounts with one", also)
	}
}

// whatIf compares the audit's evaluation (ours: policy ID → the path
// through which it reaches the emergency sign-in, "" when it does not)
// with Entra's own What If answer. Entra applying a policy the audit says
// does not apply is a finding naming the policy (the audit may have missed
// a path); the audit applying one Entra says does not reach the account
// for "users" or "application" reasons is a finding too. Entra's other
// reasons (conditions the request did not describe) are no disagreement.
func (e *eval) whatIf(ours map[string]string) {
	s := e.s
	const name = "Conditional Access (What If)"
	if s.WhatIfErr != nil {
		e.readErr(name, s.WhatIfErr)
		return
	}
	byID := map[string]enroll.CAPolicy{}
	for _, p := range s.Policies {
		byID[p.ID] = p
	}
	var disagree []string
	for _, w := range s.WhatIf {
		mine, judged := ours[w.ID]
		if !judged || w.State == "disabled" {
			continue
		}
		if !w.Applies && w.AnalysisReasons == "application" && !covers(byID[w.ID], whatIfApp) {
			continue // Entra answered for Azure management, a sign-in the policy leaves out
		}
		switch {
		case w.Applies && mine == "":
			disagree = append(
				disagree,
				fmt.Sprintf("%q: Entra says it applies to the account's sign-in, the audit found no path", w.Name),
			)
		case !w.Applies && mine != "" && (w.AnalysisReasons == "users" || w.AnalysisReasons == "application"):
			disagree = append(
				disagree,
				fmt.Sprintf("%s: the audit says it applies, Entra says not (%s)", mine, w.AnalysisReasons),
			)
		}
	}
	if len(disagree) > 0 {
		e.add(name, Finding, "Entra's What If evaluation disagrees with the audit: %s", strings.Join(disagree, "; "))
		return
	}
	// The request asks for every policy (appliedPoliciesOnly false): one
	// Entra's answer leaves out, or an empty answer, is no agreement.
	var silent []string
	for _, p := range s.Policies {
		if _, judged := ours[p.ID]; !judged || p.State == "disabled" ||
			slices.ContainsFunc(s.WhatIf, func(w enroll.CAPolicy) bool { return w.ID == p.ID }) {
			continue
		}
		silent = append(silent, fmt.Sprintf("%q", p.Name))
	}
	if len(silent) > 0 {
		e.add(name, CouldNot, "Entra's What If answer (%d policies) says nothing of %s: no second opinion on them",
			len(s.WhatIf), strings.Join(silent, ", "))
		return
	}
	e.add(name, Pass, "Entra's What If evaluation agrees on the %d policies it judged", len(s.WhatIf))
}

package posture

// The checks that judge the tenant's directory around the account: its
// initial domain, the domain password policy, the groups that exclude it
// from Conditional Access, and how many break-glass accounts there are.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/keyceremony/keyceremony/enroll"
)

// initialDomain checks that the UPN is on the tenant's initial domain (GET
// /domains, the one with isInitial true: "the initial domain created by
// Microsoft Online Services (companyname.onmicrosoft.com)", Graph domain
// resource). Any *.onmicrosoft.com is not enough: another tenant's name,
// or a custom domain, depends on what the initial domain does not.
func (e *eval) initialDomain() {
	u := e.s.User
	const name = "cloud-only account"
	if e.s.DomainsErr != nil {
		e.readErr(
			name,
			fmt.Errorf("the tenant's domains (which is the initial one) could not be read: %w", e.s.DomainsErr),
		)
		return
	}
	initial := ""
	for _, d := range e.s.Domains {
		if isTrue(d.GetIsInitial()) && d.GetId() != nil {
			initial = *d.GetId()
		}
	}
	_, domain, _ := strings.Cut(u.UPN, "@")
	switch {
	case initial == "":
		e.add(name, CouldNot, "the tenant lists no initial domain (isInitial): cannot tell whether %s is on it", u.UPN)
	case !strings.EqualFold(domain, initial):
		e.add(name, Finding, "%s is not on the tenant's initial domain %s: a break-glass account belongs on it",
			u.UPN, initial)
	default:
		e.add(name, Pass, "%s is cloud-only on the tenant's initial domain %s", u.UPN, initial)
	}
}

// neverExpires is the passwordValidityPeriodInDays that turns expiry off
// (Int32 maximum; Set-MgDomain / Microsoft 365 admin center "Set passwords
// to never expire").
const neverExpires = 2147483647

// tenantsWithoutExpiry is when tenants stopped having a default password
// expiry: "Default value: No expiration. If the tenant was created before
// 2021, it has a 90 day expiration value by default" (Microsoft Learn,
// "Password policies and account restrictions in Microsoft Entra ID",
// Password expiry duration; MicrosoftDocs/azure-docs
// articles/active-directory/authentication/concept-sspr-policy.md, commit
// 8c26893ae8ed1cb394e3e5edd5ef2bd8e00f3a6f: "If the tenant was created
// after 2021, it has no default expiration value").
var tenantsWithoutExpiry = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)

// passwordExpiry checks that the password never expires: the user's
// passwordPolicies DisablePasswordExpiration, or the policy of the domain
// of the UPN (Graph domain passwordValidityPeriodInDays: 2147483647 never;
// unset, the tenant's default by its creation date).
func (e *eval) passwordExpiry() {
	const name = "password expiry"
	u := e.s.User
	hasPassword := e.s.MethodsErr != nil || slices.ContainsFunc(e.s.Methods, func(m enroll.AuthMethod) bool {
		return m.Type == pwMethod
	})
	switch {
	case !hasPassword:
		e.add(name, Pass, "the account has no password")
		return
	case strings.Contains(u.PasswordPolicies, "DisablePasswordExpiration"):
		e.add(name, Pass, "the password never expires (passwordPolicies DisablePasswordExpiration)")
		return
	case e.s.DomainsErr != nil:
		e.readErr(name, fmt.Errorf("passwordPolicies %q lacks DisablePasswordExpiration and the domain's password "+
			"policy could not be read: %w", u.PasswordPolicies, e.s.DomainsErr))
		return
	}
	_, upnDomain, _ := strings.Cut(u.UPN, "@")
	d := domainOf(e.s.Domains, upnDomain)
	if d == nil {
		e.add(name, CouldNot, "passwordPolicies %q lacks DisablePasswordExpiration and the tenant lists no domain %s "+
			"to read its password policy from", u.PasswordPolicies, upnDomain)
		return
	}
	id := *d.GetId()
	days := d.GetPasswordValidityPeriodInDays()
	switch {
	case days != nil && *days == neverExpires:
		e.add(
			name,
			Pass,
			"the password never expires: domain %s sets passwordValidityPeriodInDays %d",
			id,
			neverExpires,
		)
	case days != nil:
		e.add(name, Finding, "the password expires after %d days (domain %s passwordValidityPeriodInDays; "+
			"passwordPolicies %q lacks DisablePasswordExpiration)", *days, id, u.PasswordPolicies)
	case e.s.OrgErr != nil || e.s.Org == nil || e.s.Org.GetCreatedDateTime() == nil:
		err := e.s.OrgErr
		if err == nil {
			err = errors.New("no createdDateTime")
		}
		e.readErr(name, fmt.Errorf("domain %s sets no passwordValidityPeriodInDays: the default depends on when the "+
			"tenant was created, which could not be read: %w", id, err))
	case !e.s.Org.GetCreatedDateTime().Before(tenantsWithoutExpiry):
		e.add(name, Pass, "the password never expires: domain %s sets no passwordValidityPeriodInDays and the tenant, "+
			"created %s, has no default expiry (tenants created since 2021)", id,
			e.s.Org.GetCreatedDateTime().UTC().Format("2006-01-02"))
	default:
		e.add(name, Finding, "the password expires after 90 days: domain %s sets no passwordValidityPeriodInDays and "+
			"the tenant, created %s (before 2021), has the 90-day default; passwordPolicies %q lacks "+
			"DisablePasswordExpiration", id, e.s.Org.GetCreatedDateTime().UTC().Format("2006-01-02"),
			u.PasswordPolicies)
	}
}

// domainOf is the tenant's domain named name (GET /domains lists
// subdomains as domains of their own, isRoot false).
func domainOf(domains []models.Domainable, name string) models.Domainable {
	for _, d := range domains {
		if d.GetId() != nil && strings.EqualFold(*d.GetId(), name) {
			return d
		}
	}
	return nil
}

// exclusionGroups checks that every group through which an enabled or
// report-only Conditional Access policy excludes the account is protected:
// role-assignable (isAssignableToRole) or in a restricted management
// administrative unit (isManagementRestricted). Otherwise anyone who can
// manage groups could add an account to it and exempt that account too
// (Maester MT.1035, Test-MtCaGroupsRestricted: maester365/maester
// powershell/public/maester/entra/Test-MtCaGroupsRestricted.ps1, commit
// 09e1183cb75c5609209f18e9d49c960e0be0febb, which reads the same two
// properties; Microsoft Learn, "Restricted management administrative units").
func (e *eval) exclusionGroups() {
	const name = "exclusion groups protected"
	s := e.s
	if s.PoliciesErr != nil {
		return // Conditional Access already says it could not be read
	}
	var open, nested, dynamic, protected, unread []string
	for _, p := range s.Policies {
		if p.State == "disabled" || len(p.ExcludeGroups) == 0 {
			continue
		}
		if s.GroupsErr != nil {
			e.add(name, CouldNot, "policy %q excludes groups and the account's groups could not be read: %v",
				p.Name, s.GroupsErr)
			return
		}
		for _, gid := range p.ExcludeGroups {
			if !slices.Contains(s.Groups, gid) {
				continue
			}
			g := s.GroupFacts[gid]
			label := s.groupLabel(gid)
			restricted := g != nil && isTrue(g.GetIsManagementRestricted())
			switch {
			case g != nil && isTrue(g.GetIsAssignableToRole()):
				protected = append(protected, fmt.Sprintf("%s for %q: role-assignable", label, p.Name))
			case g != nil && slices.Contains(g.GetGroupTypes(), "DynamicMembership"):
				// A dynamic group's members are whoever its membership rule
				// matches (Graph group: groupTypes DynamicMembership,
				// membershipRule; microsoft-graph-docs-contrib api-reference/
				// v1.0/resources/group.md, commit
				// 17c8400371cf504799a86ccd3b3dd48b391e13af): whoever can set
				// a user's attributes decides who is exempt, wherever the
				// group itself is kept.
				rule := ""
				if g.GetMembershipRule() != nil {
					rule = *g.GetMembershipRule()
				}
				dynamic = append(dynamic, fmt.Sprintf("group %s (membership rule %q), through which policy %q "+
					"excludes the account", label, rule, p.Name))
			case restricted && s.DirectGroupsErr != nil:
				unread = append(unread, fmt.Sprintf("%s for %q (%v)", label, p.Name, s.DirectGroupsErr))
			case restricted && !slices.Contains(s.DirectGroups, gid):
				// A role-assignable group takes no groups as members
				// (Microsoft Learn, "Use Microsoft Entra groups to manage
				// role assignments"); a restricted one may, and the nested
				// group's managers then decide who is exempt.
				nested = append(nested, fmt.Sprintf("group %s, through which policy %q excludes the account", label,
					p.Name))
			case restricted:
				protected = append(protected, fmt.Sprintf("%s for %q: in a restricted management administrative unit",
					label, p.Name))
			default:
				open = append(
					open,
					fmt.Sprintf("group %s, through which policy %q excludes the account", label, p.Name),
				)
			}
		}
	}
	var findings []string
	if len(open) > 0 {
		findings = append(findings, fmt.Sprintf("%s: neither role-assignable nor in a restricted management "+
			"administrative unit, so anyone who can manage groups could add an account to it and exempt it too "+
			"(Maester MT.1035)", strings.Join(open, "; ")))
	}
	if len(nested) > 0 {
		findings = append(findings, fmt.Sprintf("%s: in a restricted management administrative unit, but it holds "+
			"the account only through a nested group, whose managers could add an account and exempt it too: "+
			"make the account a direct member", strings.Join(nested, "; ")))
	}
	if len(dynamic) > 0 {
		findings = append(findings, fmt.Sprintf("%s: a dynamic group, so anyone who can set a user's attributes "+
			"could make an account match its rule and exempt it too", strings.Join(dynamic, "; ")))
	}
	switch {
	case len(findings) > 0:
		e.add(name, Finding, "%s", strings.Join(findings, "; and "))
	case len(unread) > 0:
		e.add(name, CouldNot, "whether the account is a direct member of the restricted exclusion group could not "+
			"be read (a nested group would let its managers exempt accounts): %s", strings.Join(unread, "; "))
	case len(protected) > 0:
		e.add(name, Pass, "each group that excludes the account is protected: %s", strings.Join(protected, "; "))
	default:
		e.add(name, Pass, "no enabled policy excludes the account through a group")
	}
}

// accounts checks how many break-glass accounts the tool knows of:
// Microsoft advises at least two emergency access accounts (Microsoft
// Learn, "Manage emergency access accounts in Microsoft Entra ID"; issue 27,
// tenant-wide). 0: not known, nothing said.
func (e *eval) accounts() {
	const name = "emergency access accounts"
	switch n := e.s.Accounts; {
	case n == 1:
		e.add(name, Finding, "the configuration names one break-glass account and the tool knows of no other: "+
			"Microsoft advises at least two emergency access accounts (Microsoft Learn, \"Manage emergency access "+
			"accounts in Microsoft Entra ID\")")
	case n > 1:
		e.add(name, Pass, "%d break-glass accounts configured (Microsoft advises at least two)", n)
	}
}

// groupLabel names the group gid for the officers as groupName does, or by
// its ID alone when its facts were not read.
func (s *Snapshot) groupLabel(gid string) string {
	if g := s.GroupFacts[gid]; g != nil {
		return groupName(g)
	}
	return gid
}

// isTrue is a Graph boolean that is set and true (unset is not true).
func isTrue(b *bool) bool { return b != nil && *b }

// groupName names a group for the officers: "display name" (ID), or its ID.
func groupName(g models.Groupable) string {
	id := ""
	if g.GetId() != nil {
		id = *g.GetId()
	}
	if g.GetDisplayName() != nil {
		return fmt.Sprintf("%q (%s)", *g.GetDisplayName(), id)
	}
	return id
}

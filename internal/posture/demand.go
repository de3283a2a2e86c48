package posture

import (
	"fmt"
	"slices"
	"strings"

	"github.com/keyceremony/keyceremony/enroll"
)

// Applications an emergency sign-in uses: the Azure portal, the Microsoft
// admin portals and Azure management (Microsoft Learn, "Conditional Access:
// target resources": MicrosoftAdminPortals; "Windows Azure Service
// Management API" 797f4846-ba00-4fd7-ba43-dac1f8f63013; Azure portal
// c44b4083-3bb0-49c1-b47d-974e53cbdf3c).
//
// Two more reach it: the Office 365 suite, which holds "M365 Admin Services"
// and the "Microsoft Office 365 Portal" of the Microsoft 365 admin center
// (MicrosoftDocs/entra-docs, docs/identity/conditional-access/
// reference-office-365-application-contents.md, commit
// 0325f22a9f4f96b55ffd83ce672b3b43265bb1f8); and Azure AD Graph ("Windows
// Azure Active Directory", 00000002-0000-0000-c000-000000000000): a policy
// that targets it explicitly is enforced where a client asks only for
// directory access (openid, profile, User.Read), as portal sign-ins do
// (concept-conditional-access-cloud-apps.md, commit
// 031fba827ae45a7a8ecce71c694b00481ff8704d, "New Conditional Access
// behavior"). Unsure whether they reach the sign-in, the audit says they do.
var adminApps = []string{"All", "MicrosoftAdminPortals", "797f4846-ba00-4fd7-ba43-dac1f8f63013",
	"c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Office365", "00000002-0000-0000-c000-000000000000"}

// verdict is what a policy would demand at an emergency sign-in.
type verdict struct {
	atSignIn          bool   // the policy takes part in an admin-portal sign-in in a browser
	lockout           bool   // it may refuse the account with its keys
	sessionOnly       bool   // it only sets session controls
	phishingResistant bool   // a phishing-resistant authentication strength that admits the keys, the only way through
	weakStrength      bool   // a strength that admits the keys but also weaker methods, or beside other controls
	narrow            string // why a phishing-resistant strength does not cover every sign-in ("": it does)
	flowOnly          bool   // limited to authentication flows (device code, transfer) the sign-in does not use
	demand            string // what it demands, and when
}

// controlText names the grant controls the keys alone cannot satisfy
// (Graph: conditionalAccessGrantControls builtInControls).
var controlText = map[string]string{
	"block":                "block access",
	"compliantDevice":      "a compliant device",
	"domainJoinedDevice":   "a hybrid-joined device",
	"approvedApplication":  "an approved client app",
	"compliantApplication": "an app protection policy",
	"passwordChange":       "a password change",
}

// judge says what policy p would demand of the account signing in to the
// admin portals in a browser with keys of models aaguids (none: not known
// yet). A control it does not know is a lock-out: unsure is never a pass.
func judge(p enroll.CAPolicy, aaguids []string) verdict {
	apps := p.IncludeApps
	if len(apps) == 0 && (len(p.UserActions) > 0 || len(p.AuthContexts) > 0) {
		return verdict{demand: "applies to user actions or authentication contexts only (" +
			strings.Join(append(slices.Clone(p.UserActions), p.AuthContexts...), ", ") + ")"}
	}
	if len(apps) > 0 && !slices.ContainsFunc(apps, func(a string) bool {
		return slices.Contains(adminApps, a) && !slices.Contains(p.ExcludeApps, a)
	}) {
		return verdict{demand: "applies to other applications (" + strings.Join(apps, ", ") + ")"}
	}
	if len(p.ClientAppTypes) > 0 && !slices.Contains(p.ClientAppTypes, "all") &&
		!slices.Contains(p.ClientAppTypes, "browser") {
		return verdict{demand: "applies to client apps " + strings.Join(p.ClientAppTypes, ", ") + " only"}
	}
	flows := slices.DeleteFunc(slices.Clone(p.TransferMethods), func(m string) bool { return m == "none" })
	if len(flows) > 0 && !slices.ContainsFunc(flows, func(m string) bool {
		return m != "deviceCodeFlow" && m != "authenticationTransfer"
	}) {
		// The authentication flows condition limits the policy to sign-ins
		// by device code or authentication transfer (Microsoft Learn,
		// "Conditional Access: Authentication flows"); the emergency
		// sign-in is an interactive browser sign-in with the keys.
		return verdict{flowOnly: true, demand: "applies to sign-ins by " + strings.Join(flows, ", ") + " only"}
	}
	v := verdict{atSignIn: true}
	when := conditions(p)
	var unmet, met []string
	for _, g := range p.Grant {
		switch {
		case g == "mfa":
			met = append(met, "MFA (the keys satisfy it)")
		case controlText[g] != "":
			unmet = append(unmet, controlText[g])
		default:
			unmet = append(unmet, "grant control "+g+" (not known to the audit)")
		}
	}
	for _, t := range p.TermsOfUse {
		unmet = append(unmet, "accepting terms of use "+t)
	}
	// A custom control is a third-party provider's check (Graph:
	// conditionalAccessGrantControls customAuthenticationFactors,
	// microsoft-graph-docs-contrib api-reference/v1.0/resources/
	// conditionalaccessgrantcontrols.md, commit
	// 0f601cdc001dcd8ed481f945c6919969f4b92293): the keys do not satisfy it.
	for _, c := range p.CustomControls {
		unmet = append(unmet, "custom control "+c+" (a third-party check the keys do not satisfy)")
	}
	if p.StrengthID != "" {
		ok, why := strengthAdmits(p, aaguids)
		if ok {
			met = append(met, why)
			// It protects the account only when nothing weaker gets
			// through: every combination phishing-resistant, and no
			// other control it could be satisfied with instead (OR).
			alone := p.GrantOperator == "AND" || len(p.Grant)+len(p.TermsOfUse)+len(p.CustomControls) == 0
			v.phishingResistant = phishingResistantOnly(p.StrengthCombinations) && alone
			v.weakStrength = !v.phishingResistant
			// It protects the account only where it applies: a policy
			// narrowed to some resources, client apps or conditions leaves
			// the account's other sign-ins with nothing but a password
			// (Microsoft's emergency access policy targets All resources:
			// Microsoft Learn, "Manage emergency access accounts").
			if v.phishingResistant {
				if v.narrow = narrowed(p, when); v.narrow != "" {
					v.phishingResistant = false
				}
			}
		} else {
			unmet = append(unmet, why)
		}
	}
	if p.TokenProtection {
		// Token protection accepts only sign-in sessions bound to a Windows
		// device registered with Entra; an unbound request "lacking
		// Microsoft Entra ID device state" is refused, and a policy leaving
		// Browser selected "might cause applications ... to be blocked"
		// (MicrosoftDocs/entra-docs, docs/identity/conditional-access/
		// concept-token-protection.md, commit
		// 046add742e4aa9bda8e0f35c5d8d9a16999bfce1). A session control, it
		// holds whatever the grant operator: the emergency workstation has
		// no such session.
		v.lockout = true
		v.demand = "token protection for sign-in sessions (a session bound to a Windows device registered with " +
			"Entra ID)" + when
		if len(unmet) > 0 {
			v.demand += "; and " + strings.Join(unmet, " and ")
		}
		return v
	}
	switch {
	case len(met) == 0 && len(unmet) == 0 && len(p.Session) > 0:
		v.sessionOnly, v.demand = true, "session controls only ("+strings.Join(p.Session, ", ")+")"
		return v
	case len(met) == 0 && len(unmet) == 0:
		v.lockout, v.demand = true, "grant controls the audit could not read"+when
		return v
	}
	// OR: one met control is enough; AND (or a single control): all.
	if len(unmet) > 0 && (p.GrantOperator == "AND" || len(met) == 0) {
		v.lockout = true
		v.phishingResistant = false
		// Under OR none of the controls is met, and each would do: say
		// "or", so the officers do not read a demand for all of them.
		join := " and "
		if p.GrantOperator != "AND" {
			join = " or "
		}
		v.demand = strings.Join(unmet, join) + when
		return v
	}
	v.demand = strings.Join(met, " or ")
	if len(p.Session) > 0 {
		v.demand += "; session controls " + strings.Join(p.Session, ", ")
	}
	return v
}

// narrowed says how a policy is limited to some sign-ins: resources other
// than All (or All with exclusions), client apps other than all, or
// conditions (when, from conditions). "": every sign-in.
func narrowed(p enroll.CAPolicy, when string) string {
	var n []string
	if len(p.IncludeApps) > 0 && !slices.Contains(p.IncludeApps, "All") {
		n = append(n, "resources "+strings.Join(p.IncludeApps, ", "))
	}
	if len(p.ExcludeApps) > 0 {
		n = append(n, "resources other than "+strings.Join(p.ExcludeApps, ", "))
	}
	if len(p.ClientAppTypes) > 0 && !slices.Contains(p.ClientAppTypes, "all") {
		n = append(n, "client apps "+strings.Join(p.ClientAppTypes, ", "))
	}
	if when != "" {
		n = append(n, strings.TrimPrefix(strings.TrimSuffix(when, ")"), " (when: "))
	}
	return strings.Join(n, "; ")
}

// phishingResistant are the authentication combinations that resist
// phishing: those of Microsoft's built-in "Phishing-resistant MFA" strength
// (00000000-0000-0000-0000-000000000004), the set ScubaGear accepts for
// MS.AAD.3.1 (cisagov/ScubaGear, PowerShell/ScubaGear/Rego/Utils/AAD.rego,
// IsPhishingResistantMFA; commit 4d34e9a48e38ce5c2e14c0fdfbaee53e57594ae2).
var phishingResistant = []string{"windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"}

// phishingResistantOnly reports whether a strength allows phishing-resistant
// combinations only: one that also allows, say, password and SMS (the
// built-in "Multifactor authentication" strength) lets a weaker sign-in
// through, so it is no protection of the account (ScubaGear's
// test_PhishingResistantExtraMFA_Incorrect fails it).
func phishingResistantOnly(combinations []string) bool {
	for _, c := range combinations {
		if !slices.Contains(phishingResistant, c) {
			return false
		}
	}
	return len(combinations) > 0
}

// strengthAdmits judges an authentication strength: it must allow FIDO2
// alone ("fido2" among allowedCombinations) and, when its FIDO2
// combination configuration lists AAGUIDs, each of the keys' models.
func strengthAdmits(p enroll.CAPolicy, aaguids []string) (bool, string) {
	name := fmt.Sprintf("authentication strength %q", p.StrengthName)
	if !slices.Contains(p.StrengthCombinations, "fido2") {
		return false, fmt.Sprintf("%s, which does not allow FIDO2 security keys (allows %s)", name,
			strings.Join(p.StrengthCombinations, ", "))
	}
	if p.StrengthUnread != "" {
		return false, fmt.Sprintf("%s, whose allowed key models could not be read (%s)", name, p.StrengthUnread)
	}
	if len(p.StrengthFIDO2AAGUIDs) == 0 {
		return true, name + " (FIDO2, any key model)"
	}
	var refused []string
	for _, a := range aaguids {
		if !slices.Contains(p.StrengthFIDO2AAGUIDs, strings.ToLower(a)) {
			refused = append(refused, a)
		}
	}
	if len(refused) > 0 {
		return false, fmt.Sprintf(
			"%s, whose FIDO2 configuration does not allow AAGUID %s",
			name,
			strings.Join(refused, ", "),
		)
	}
	if len(aaguids) == 0 {
		return true, fmt.Sprintf("%s (FIDO2 keys of AAGUID %s only: the keys must be of these models)", name,
			strings.Join(p.StrengthFIDO2AAGUIDs, ", "))
	}
	return true, name + " (FIDO2; the keys' models are allowed)"
}

// conditions renders the conditions that narrow when a policy applies
// (platforms, locations, risk, device filter): each may hold at an
// emergency sign-in, so none makes a demand safe.
func conditions(p enroll.CAPolicy) string {
	var c []string
	if len(p.IncludePlatforms) > 0 && !slices.Contains(p.IncludePlatforms, "all") {
		c = append(c, "platforms "+strings.Join(p.IncludePlatforms, ", "))
	}
	if len(p.ExcludePlatforms) > 0 {
		c = append(c, "platforms other than "+strings.Join(p.ExcludePlatforms, ", "))
	}
	if len(p.IncludeLocations) > 0 && !slices.Contains(p.IncludeLocations, "All") {
		c = append(c, "locations "+strings.Join(p.IncludeLocations, ", "))
	}
	if len(p.ExcludeLocations) > 0 {
		c = append(c, "locations other than "+strings.Join(p.ExcludeLocations, ", "))
	}
	if len(p.SignInRisk) > 0 {
		c = append(c, "sign-in risk "+strings.Join(p.SignInRisk, ", "))
	}
	if len(p.UserRisk) > 0 {
		c = append(c, "user risk "+strings.Join(p.UserRisk, ", "))
	}
	if p.DeviceFilter != "" {
		c = append(c, "device filter ("+p.DeviceFilter+")")
	}
	if len(c) == 0 {
		return ""
	}
	return " (when: " + strings.Join(c, "; ") + ")"
}

// whatIfApp is the application Entra's What If is asked about (Azure
// management, "Windows Azure Service Management API": enroll.Client.WhatIf).
const whatIfApp = "797f4846-ba00-4fd7-ba43-dac1f8f63013"

// covers reports whether a policy's applications condition takes in app.
// Entra saying "application" for a policy that the audit finds at the
// sign-in through another admin application (one that leaves Azure
// management out) answers for a different sign-in: no disagreement.
func covers(p enroll.CAPolicy, app string) bool {
	in := len(p.IncludeApps) == 0 || slices.Contains(p.IncludeApps, "All") || slices.Contains(p.IncludeApps, app)
	return in && !slices.Contains(p.ExcludeApps, app)
}

package posture

// The FIDO2 (passkey) method policy: whether the account can use its keys.

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// fido2Policy checks that the FIDO2 (passkey) method policy lets the
// account use its keys: enabled, an include target reaching it, no exclude
// target reaching it (exclude wins), and a passkey profile or the key
// restrictions admitting each recorded key's model.
func (e *eval) fido2Policy() {
	s := e.s
	const name = "FIDO2 method policy"
	if s.FIDO2Err != nil || s.FIDO2 == nil {
		e.readErr(name, s.FIDO2Err)
		return
	}
	p := s.FIDO2
	if p.State != "enabled" {
		e.add(name, Finding, "the FIDO2 method is %s in the tenant", p.State)
		return
	}
	uid := s.User.ID
	namesGroups := slices.ContainsFunc(append(slices.Clone(p.IncludeTargets), p.ExcludeTargets...),
		func(t string) bool { return t != "all_users" && t != uid })
	if s.GroupsErr != nil && namesGroups {
		e.add(name, CouldNot, "the policy targets groups and the account's groups could not be read: %v", s.GroupsErr)
		return
	}
	aaguids := s.AAGUIDs
	var blocked []string
	if len(aaguids) == 0 {
		// Before a ceremony: no model to judge, only whether the policy
		// reaches the account (a model that no profile takes is judged
		// per key by the ceremony).
		if ok, why := p.Admits("", uid, s.Groups); !ok && !strings.Contains(why, "AAGUID") {
			blocked = append(blocked, why)
		}
	}
	for i, a := range aaguids {
		if ok, why := p.Admits(a, uid, s.Groups); !ok {
			blocked = append(blocked, fmt.Sprintf("key %d (AAGUID %s): %s", i+1, a, why))
		}
	}
	if len(blocked) > 0 {
		e.add(name, Finding, "the account could not use its keys: %s", strings.Join(blocked, "; "))
		return
	}
	// A group the account is in only by a PIM for Groups membership that
	// ends lets it use the keys only until then: judged without it too.
	var lasting, ending []string
	for _, g := range s.Groups {
		if s.Roles != nil && hasEnd(s.Roles.GroupActiveExpires, g) {
			ending = append(ending, fmt.Sprintf("%s until %s", g, s.Roles.GroupActiveExpires[g].Format(time.RFC3339)))
		} else {
			lasting = append(lasting, g)
		}
	}
	models := aaguids
	if len(models) == 0 {
		models = []string{""} // before a ceremony: only whether the policy reaches the account
	}
	for _, a := range models {
		if len(ending) == 0 {
			break
		}
		if ok, why := p.Admits(a, uid, lasting); !ok && (a != "" || !strings.Contains(why, "AAGUID")) {
			e.add(name, Finding, "the account can use its keys only through PIM for Groups memberships that end "+
				"(%s); after that: %s", strings.Join(ending, ", "), why)
			return
		}
	}
	excl := ""
	if len(p.ExcludeTargets) > 0 {
		excl = fmt.Sprintf(" (the account is in none of the exclude targets %s)", strings.Join(p.ExcludeTargets, ", "))
	}
	e.add(
		name,
		Pass,
		"enabled for %s%s; keys allowed; attestation enforced: %v",
		strings.Join(p.IncludeTargets, ", "),
		excl,
		p.AttestationEnforced,
	)
}

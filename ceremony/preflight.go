package ceremony

// The preflight: what Entra will say, the repairs, both officers'
// confirmation, and the checks before any key is touched.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keyceremony/keyceremony/internal/keyname"
	"github.com/keyceremony/keyceremony/officer"
)

// predictEntra reads the passkey (FIDO2) policy as Entra will apply it to
// the account — passkey profiles of the targets that reach it, or the
// legacy key restrictions — and refuses before anything is touched when
// none of the models the attestation policy allows would be registered.
// An unreadable policy is said, and Entra's own answer at registration
// remains the judge.
func (e *Engine) predictEntra(ctx context.Context) error {
	pr, ok := e.graph.(policyReader)
	if !ok {
		return nil
	}
	pol, err := pr.FIDO2MethodPolicy(ctx)
	if err != nil {
		e.prompt.Progress(
			"preflight",
			fmt.Sprintf(
				"the passkey policy could not be read (%v): "+
					"Entra's acceptance of each key is known only at registration",
				err,
			),
		)
		return nil
	}
	groups, _ := pr.GroupsOf(ctx, e.user.ID) // unreadable: all_users targets still judge
	e.entra = func(aaguid string) (bool, string) { return pol.Admits(aaguid, e.user.ID, groups) }
	candidates := []string{}
	for _, m := range e.cfg.Verifier.Policy.Allowed {
		candidates = append(candidates, m.AAGUID)
	}
	if m := e.cfg.Verifier.RehearsalModel; e.cfg.Verifier.Rehearsal && m != nil {
		candidates = append(candidates, m.AAGUID)
	}
	var first string
	for _, a := range candidates {
		ok, why := e.entra(a)
		if ok {
			return nil
		}
		if first == "" {
			first = why
		}
	}
	return fmt.Errorf(
		"preflight: Entra would register none of the models the attestation policy allows for %s (%s): "+
			"change the passkey policy first; nothing was touched",
		e.user.UPN,
		first,
	)
}

// showRepairs tells the officers what opening the journal cut off (a torn
// last line): a resume never repairs silently. The journal recorded it,
// and the report lists it as a deviation.
func (e *Engine) showRepairs() {
	for _, text := range e.journal.takeRepairs() {
		e.prompt.Progress("journal", "REPAIRED: "+text+" (recorded as a deviation)")
	}
}

// confirmBoth asks both officers, in turn, to confirm a state change; the
// journal records who refused it (step "refused-confirmation").
func (e *Engine) confirmBoth(ctx context.Context, action string) ([]string, error) {
	for _, o := range []string{e.cfg.OfficerA, e.cfg.OfficerB} {
		if err := e.prompt.Confirm(ctx, o, action); err != nil {
			if !errors.Is(err, officer.ErrAbandoned) { // not a refusal: the run was stopped, as before
				return nil, fmt.Errorf("%s: %w", action, officer.ErrAbandoned)
			}
			if jerr := e.journal.Append("refused-confirmation", "note",
				map[string]string{"refused_by": o, "action": action}); jerr != nil {
				return nil, fmt.Errorf("%s: %w (and the journal could not record who refused: %v)",
					action, officer.ErrAbandoned, jerr)
			}
			return nil, fmt.Errorf("%s: %w", action, officer.ErrAbandoned)
		}
	}
	return []string{e.cfg.OfficerA, e.cfg.OfficerB}, nil
}

func (e *Engine) preflight(ctx context.Context) error {
	if err := e.journal.Append("preflight", "begin", map[string]string{"account": e.cfg.Account,
		"officer_a": e.cfg.OfficerA, "officer_b": e.cfg.OfficerB,
		"rehearsal": fmt.Sprint(e.cfg.Rehearsal), "policy_sha256": e.cfg.Verifier.Policy.SHA256()}); err != nil {
		return err
	}
	u, err := e.graph.GetUser(ctx, e.cfg.Account)
	if err != nil {
		return fmt.Errorf("preflight: %w", e.failed("preflight", err))
	}
	if u.OnPremisesSyncEnabled != nil && *u.OnPremisesSyncEnabled {
		e.prompt.Progress(
			"preflight",
			"WARNING: the account is synced from on-premises; a break-glass account should be cloud-only",
		)
	}
	if err := e.namesFree(ctx, u.ID); err != nil {
		return fmt.Errorf("preflight: %w", e.failed("preflight", err))
	}
	for _, f := range e.cfg.PostureFindings {
		e.prompt.Progress("preflight", "POSTURE FINDING: "+f)
	}
	// The endpoints and every deviation are in the text both officers
	// confirm, which the screen wraps whole (a progress line is cut).
	start := fmt.Sprintf("start the ceremony for %s with %d keys", u.UPN, e.cfg.Keys)
	if e.cfg.Endpoints != "" {
		start += " (" + e.cfg.Endpoints + ")"
	}
	for _, d := range e.cfg.Deviations {
		start += "; DEVIATION, the report records it: " + d
	}
	by, err := e.confirmBoth(ctx, start)
	if err != nil {
		return err
	}
	e.prompt.Progress("preflight", fmt.Sprintf("account %s (%s), policy %q", u.UPN, u.ID, e.cfg.Verifier.Policy.Name))
	if n := len(e.cfg.OtherKeys); n > 0 {
		e.prompt.Progress(
			"preflight",
			fmt.Sprintf(
				"%d key(s) of other accounts were provisioned in this sitting: "+
					"each key inserted is checked against them before anything is done to it",
				n,
			),
		)
	}
	return e.journal.Append(
		"preflight",
		"done",
		map[string]string{"user_id": u.ID, "upn": u.UPN, "confirmed_by": strings.Join(by, ", ")},
	)
}

// namesFree refuses, before any key is touched, names the account's
// methods already carry: Entra's 30 characters leave the default names the
// year, not the day, so a second ceremony in a year would meet the first
// one's names, which registration refuses and a resume would adopt.
func (e *Engine) namesFree(ctx context.Context, userID string) error {
	methods, err := e.graph.ListFIDO2(ctx, userID)
	if err != nil {
		return err
	}
	pattern := e.cfg.Verifier.Policy.DisplayNamePattern
	for slot := 1; slot <= e.cfg.Keys; slot++ {
		fixed := keyname.Render(pattern, e.cfg.Sitting, slot, "", e.cfg.Now())
		for _, m := range methods {
			if m.DisplayName == fixed || strings.HasPrefix(m.DisplayName, fixed+" ") {
				return fmt.Errorf("the account already has a FIDO2 method named %q (%s), the name key %d would get: "+
					"retire it first, or name keys by day (a display_name_pattern with {date}, "+
					"e.g. \"BG{account} key {n} {date} {model}\")", m.DisplayName, m.ID, slot)
			}
		}
	}
	return nil
}

package health

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/internal/keystep"
	"github.com/keyceremony/keyceremony/internal/posture"
	"github.com/keyceremony/keyceremony/officer"
	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/workstation"
)

// Check outcomes.
const (
	Pass      = posture.Pass
	Finding   = posture.Finding
	CouldNot  = posture.CouldNot
	pwMethod  = "#microsoft.graph.passwordAuthenticationMethod"
	fido2Type = "#microsoft.graph.fido2AuthenticationMethod"
)

// Graph is the read-only part of *enroll.Client the health check uses.
type Graph interface {
	GetUser(ctx context.Context, upnOrID string) (*enroll.User, error)
	ListFIDO2(ctx context.Context, userID string) ([]enroll.Method, error)
	AuthenticationMethods(ctx context.Context, userID string) ([]enroll.AuthMethod, error)
	RolesOf(ctx context.Context, userID string) (*enroll.Roles, error)
	TransitiveGroups(ctx context.Context, userID string) ([]models.Groupable, error)
	DirectGroups(ctx context.Context, userID string) ([]string, error)
	Domains(ctx context.Context) ([]models.Domainable, error)
	Organization(ctx context.Context) (models.Organizationable, error)
	AuditEventsSince(ctx context.Context, userID string, since time.Time) ([]enroll.AuditEvent, error)
	ConditionalAccessPolicies(ctx context.Context) ([]enroll.CAPolicy, error)
	FIDO2MethodPolicy(ctx context.Context) (*enroll.FIDO2Policy, error)
	SignInsSince(ctx context.Context, userID string, since time.Time) ([]enroll.SignIn, error)
	WhatIf(ctx context.Context, userID string) ([]enroll.CAPolicy, error)
}

// Config describes one health check.
type Config struct {
	LastReport    []byte        // the account's last report.json (ceremony or health)
	LastSignature []byte        // its report.json.sig
	PublicKey     ssh.PublicKey // the workstation key the officers trust
	Rehearsal     bool
	// Verifier judges the keys' re-attestation: the ceremony's policy
	// (and, in a rehearsal, its TEST root).
	Verifier *attest.Verifier
	// Accounts is how many break-glass accounts the configuration names
	// (0: not known, nothing said); Microsoft advises at least two.
	Accounts int
	OfficerA string
	OfficerB string
	Signer   workstation.Signer
	Tool     report.Tool
	Hostname string
	OutDir   string
	Now      func() time.Time
	// Monitoring, when set, audits that a sign-in of the account raises an
	// alert (internal/monitor: diagnostic setting, retention, alert rule,
	// action group, an alert for every sign-in since the last report); its
	// checks go into the signed report with the others.
	Monitoring func(ctx context.Context, account report.Account, since time.Time) []Check
	// Deviations known before the start (sign-in and Graph endpoints that
	// are no Microsoft cloud's, a secret sign-in) go into the report as
	// they are, as the ceremony's do.
	Deviations []string
}

// Check is one verified fact.
type Check = posture.Check

// Result is the health check's outcome.
type Result struct {
	Checks      []Check
	Dir         string
	Fingerprint string
}

// WriteText lists the checks for the officers, then where the signed
// health report is and, when every check passed, says so.
func (r *Result) WriteText(w io.Writer) error {
	for _, c := range r.Checks {
		fmt.Fprintf(w, "  %-16s %-24s %s\n", c.Status, c.Name, c.Detail)
	}
	fmt.Fprintf(w, "Signed health report in %s (key %s)\n", r.Dir, r.Fingerprint)
	if r.Count(Finding)+r.Count(CouldNot) > 0 {
		return nil
	}
	_, err := fmt.Fprintln(w, "All checks passed.")
	return err
}

// Count returns how many checks ended with status.
func (r *Result) Count(status string) int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == status {
			n++
		}
	}
	return n
}

// errLastReport is wrapped when the last report does not verify: nothing
// in it can be trusted, so nothing is checked against it.
var errLastReport = errors.New("the last report does not verify")

type run struct {
	cfg    Config
	g      Graph
	checks []Check
}

func (r *run) add(name, status, format string, a ...any) {
	r.checks = append(r.checks, Check{Name: name, Status: status, Detail: fmt.Sprintf(format, a...)})
}

// graphErr records a failed Graph read: a 403 is "could not check" with the
// permission the service named; anything else too, with the error.
func (r *run) graphErr(name string, err error) {
	var ge *enroll.GraphError
	if errors.As(err, &ge) && ge.Status == 403 {
		r.add(name, CouldNot, "not permitted: %s", ge.Message)
		return
	}
	r.add(name, CouldNot, "%v", err)
}

// Run performs the health check and writes the signed health report.
func Run(ctx context.Context, cfg Config, devices fidokey.Devices, g Graph, p officer.Prompter) (*Result, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	started := cfg.Now().UTC()
	last, err := report.Verify(
		cfg.LastReport,
		cfg.LastSignature,
		cfg.PublicKey,
		report.VerifyOptions{Rehearsal: cfg.Rehearsal},
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errLastReport, err)
	}
	r := &run{cfg: cfg, g: g}
	r.add(
		"last report",
		Pass,
		"%s %s signed by %s verifies",
		last.Type,
		last.CeremonyID,
		last.Workstation.SignerFingerprint,
	)
	for _, k := range last.Keys {
		r.key(ctx, devices, p, k)
	}
	user := r.graph(ctx, last)
	if cfg.Monitoring != nil {
		r.checks = append(r.checks, cfg.Monitoring(ctx, last.Account, last.Ended)...)
	}
	if cfg.Accounts == 1 {
		r.add(
			"emergency access accounts",
			Finding,
			"the configuration names one break-glass account; Microsoft advises at least two emergency access "+
				"accounts (Microsoft Learn, \"Manage emergency access accounts in Microsoft Entra ID\")",
		)
	} else if cfg.Accounts > 1 {
		r.add("emergency access accounts", Pass, "%d break-glass accounts configured", cfg.Accounts)
	}
	out := &report.Report{
		Type: report.TypeHealth, Rehearsal: cfg.Rehearsal, CeremonyID: "health-" + started.Format("20060102-150405"),
		Started: started, Ended: cfg.Now().UTC(), Tenant: last.Tenant, Account: last.Account,
		Officers:    []report.Person{{Role: "officer-a", Name: cfg.OfficerA}, {Role: "officer-b", Name: cfg.OfficerB}},
		Workstation: report.Workstation{Hostname: cfg.Hostname}, Tool: cfg.Tool, Policy: last.Policy,
		Keys: last.Keys, Previous: report.Ref(cfg.LastReport, last), Deviations: cfg.Deviations,
	}
	if user != nil {
		out.Account.ObjectID = user.ID
	}
	for _, c := range r.checks {
		out.Steps = append(
			out.Steps,
			report.Step{Name: c.Name, Started: started, Ended: out.Ended, Outcome: c.Status, Detail: c.Detail},
		)
		if c.Status != Pass {
			out.Findings = append(out.Findings, fmt.Sprintf("%s (%s): %s", c.Name, c.Status, c.Detail))
		}
	}
	w, err := report.Write(cfg.OutDir, out, cfg.Signer)
	if err != nil {
		return nil, err
	}
	return &Result{Checks: r.checks, Dir: w.Dir, Fingerprint: w.Fingerprint}, nil
}

// key checks one key against its record: model, firmware, credential, PIN.
func (r *run) key(ctx context.Context, devices fidokey.Devices, p officer.Prompter, k report.Key) {
	name := fmt.Sprintf("key %d", k.Slot)
	auth, closer, err := fidokey.OpenAlone(ctx, devices, p, officer.Instruction{Kind: officer.Insert, Slot: k.Slot,
		Text: fmt.Sprintf("%s: take key %d out of its bag and insert it (and no other key)", r.cfg.OfficerA, k.Slot)})
	if err != nil {
		r.add(name, CouldNot, "%v", err)
		return
	}
	defer closer.Close()
	info, err := auth.Info(ctx)
	if err != nil {
		r.add(name, CouldNot, "getInfo: %v", err)
		return
	}
	if info.AAGUID.String() != k.AAGUID {
		r.add(
			name+" model",
			Finding,
			"AAGUID %s, the report records %s: this is not the same kind of key",
			info.AAGUID,
			k.AAGUID,
		)
	} else {
		r.add(name+" model", Pass, "AAGUID %s as recorded", k.AAGUID)
	}
	r.firmware(name, info, k)
	r.reattest(ctx, auth, info, name, k)
	left, _, err := auth.PINRetries(ctx)
	if err != nil {
		r.add(name+" PIN", CouldNot, "%v", err)
		return
	}
	if left <= ctap.DefaultRetryFloor {
		r.add(
			name+" PIN",
			Finding,
			"only %d PIN retries left: not trying (the key may be near blocked; someone entered wrong PINs)",
			left,
		)
		r.add(name+" credential", CouldNot, "needs the PIN, which was not tried")
		return
	}
	pin, err := officer.SplitPIN(ctx, p, k.Slot, r.cfg.OfficerA, r.cfg.OfficerB, false)
	if err != nil {
		r.add(name+" PIN", CouldNot, "the officers did not enter the PIN: %v", err)
		r.add(name+" credential", CouldNot, "needs the PIN")
		return
	}
	defer clear(pin)
	tok, err := auth.GetPINToken(ctx, pin, ctap.TokenRequest{Permissions: ctap.PermGetAssertion, RPID: enroll.RPID})
	if err != nil {
		r.add(name+" PIN", Finding, "the PIN was refused: %v", err)
		r.add(name+" credential", CouldNot, "needs the PIN")
		return
	}
	defer tok.Zero()
	after, _, _ := auth.PINRetries(ctx)
	r.add(name+" PIN", Pass, "accepted; %d retries left", after)
	credID, _ := base64.RawURLEncoding.DecodeString(k.CredentialID)
	cose, _ := base64.RawURLEncoding.DecodeString(k.PublicKeyCOSE)
	count, err := keystep.TestAssertion(ctx, auth, tok, credID, cose, "keyceremony health check", r.cfg.Now())
	switch {
	case errors.Is(err, ctap.ErrNoCredentials):
		r.add(
			name+" credential",
			Finding,
			"the key no longer holds the credential recorded in the report (deleted, reset or another key)",
		)
	case errors.Is(err, keystep.ErrAssertionMismatch):
		r.add(name+" credential", Finding, "%v", err)
	case err != nil:
		r.add(name+" credential", CouldNot, "%v", err)
	default:
		r.add(
			name+" credential",
			Pass,
			"test assertion for %s verified with the recorded public key (counter %d)",
			enroll.RPID,
			count,
		)
	}
}

// reattest has the key attest a fresh throw-away credential and judges it
// with the ceremony's verifier (keystep.Reattest): the attestation
// certificate must be the one the ceremony recorded, the statement must
// verify and chain, and the model must still be allowed.
func (r *run) reattest(ctx context.Context, auth ctap.Authenticator, info *ctap.Info, name string, k report.Key) {
	check := name + " attestation"
	if k.AttestationCert == "" {
		r.add(check, CouldNot, "the report records no attestation certificate to compare with")
		return
	}
	if r.cfg.Verifier == nil {
		r.add(check, CouldNot, "no attestation policy was given to judge the key's re-attestation")
		return
	}
	v, err := keystep.Reattest(ctx, auth, r.cfg.Verifier, info, r.cfg.Now())
	if err != nil {
		r.add(check, CouldNot, "the key did not re-attest: %v", err)
		return
	}
	if len(v.Chain) == 0 {
		r.add(
			check,
			Finding,
			"the key's new attestation (%s) carries no certificate; the ceremony recorded %s",
			v.Format,
			short(k.AttestationCert),
		)
		return
	}
	if got := v.Chain[0].SHA256; got != k.AttestationCert {
		r.add(
			check,
			Finding,
			"attestation certificate %s, the report records %s: not the key the ceremony attested",
			short(got),
			short(k.AttestationCert),
		)
		return
	}
	var reasons []string
	for _, rs := range v.Reasons {
		reasons = append(reasons, rs.Message)
	}
	switch {
	case !v.Trusted:
		r.add(
			check,
			Finding,
			"the recorded attestation certificate came back, but the attestation does not verify: %s",
			strings.Join(reasons, "; "),
		)
	case !v.Allowed:
		r.add(
			check,
			Finding,
			"re-attested with the recorded certificate, but the policy no longer allows this key: %s",
			strings.Join(reasons, "; "),
		)
	default:
		r.add(
			check,
			Pass,
			"re-attested with the recorded certificate %s (%s, chains to %s)",
			short(k.AttestationCert),
			v.Model,
			v.Root.Subject,
		)
	}
}

// short abbreviates a hex fingerprint for a finding's sentence.
func short(fp string) string {
	if len(fp) > 16 {
		return fp[:16] + "…"
	}
	return fp
}

// graph checks the account in Entra: methods, sign-ins and posture.
func (r *run) graph(ctx context.Context, last *report.Report) *enroll.User {
	u, err := r.g.GetUser(ctx, last.Account.ObjectID)
	if err != nil {
		r.graphErr("account", err)
		return nil
	}
	recorded := map[string]report.Key{}
	for _, k := range last.Keys {
		recorded[k.GraphMethodID] = k
	}
	if methods, err := r.g.ListFIDO2(ctx, u.ID); err != nil {
		r.graphErr("FIDO2 methods", err)
	} else {
		seen := map[string]bool{}
		for _, m := range methods {
			k, ok := recorded[m.ID]
			switch {
			case !ok:
				r.add("FIDO2 methods", Finding, "unexpected FIDO2 method %q (%s, AAGUID %s) created %s",
					m.DisplayName, m.ID, m.AAGUID, m.Created.Format(time.RFC3339))
			case !strings.EqualFold(m.AAGUID, k.AAGUID):
				r.add("FIDO2 methods", Finding, "method %s now reports AAGUID %s, the report records %s",
					m.ID, m.AAGUID, k.AAGUID)
			default:
				seen[m.ID] = true
			}
		}
		for id, k := range recorded {
			if !seen[id] {
				r.add("FIDO2 methods", Finding, "the method of key %d (%s, %q) is gone from the account",
					k.Slot, id, k.DisplayName)
			}
		}
		if len(seen) == len(recorded) && len(methods) == len(recorded) {
			r.add("FIDO2 methods", Pass, "exactly the %d recorded methods", len(recorded))
		}
	}
	if all, err := r.g.AuthenticationMethods(ctx, u.ID); err != nil {
		r.graphErr("other methods", err)
	} else {
		var extra []string
		for _, m := range all {
			switch m.Type {
			case pwMethod, fido2Type:
			default:
				extra = append(extra, fmt.Sprintf("%s (%s)", strings.TrimPrefix(m.Type, "#microsoft.graph."), m.ID))
			}
		}
		if len(extra) > 0 {
			r.add("other methods", Finding, "unexpected authentication methods: %s", strings.Join(extra, ", "))
		} else {
			r.add("other methods", Pass, "no authentication method besides the keys and the password")
		}
	}
	// Reading sign-ins through Graph needs Entra ID P1 or P2 (Microsoft
	// Learn, "Analyze activity logs with Microsoft Graph", common errors:
	// "Accessing sign-in reports requires a Microsoft Entra ID P1 or P2
	// license"), so a read that works tells the retention (30 days); one
	// that fails leaves the shorter one (7).
	now := r.cfg.Now()
	sis, err := r.g.SignInsSince(ctx, u.ID, last.Ended)
	from, gap := posture.Retained(last.Ended, now, err == nil)
	if gap != "" {
		r.add("logs past retention", CouldNot, "%s", gap)
	}
	if err != nil {
		r.graphErr("sign-ins", err)
	} else if len(sis) > 0 {
		for _, s := range sis {
			result := "success"
			if s.ErrorCode != 0 {
				result = fmt.Sprintf("failed %d %s", s.ErrorCode, s.Failure)
			}
			r.add("sign-ins", Finding, "sign-in at %s to %q from %s: %s — explain it: "+
				"a break-glass account is not used in normal times",
				s.Time.UTC().Format(time.RFC3339), s.App, s.IPAddress, result)
		}
	} else {
		r.add("sign-ins", Pass, "no sign-in since %s", from.Format(time.RFC3339))
	}
	// Directory audit events on the account since the last report: methods
	// added or removed, password resets, role changes, property changes.
	if evs, err := r.g.AuditEventsSince(ctx, u.ID, last.Ended); err != nil {
		r.graphErr("audit log", err)
	} else if len(evs) > 0 {
		for _, ev := range evs {
			by := ev.By
			if by == "" {
				by = "an unnamed actor"
			}
			r.add("audit log", Finding, "%s: %q (%s) by %s, result %s — explain it",
				ev.Time.UTC().Format(time.RFC3339), ev.Activity, ev.Category, by, ev.Result)
		}
	} else {
		r.add("audit log", Pass, "no directory change to the account since %s", from.Format(time.RFC3339))
	}
	var aaguids []string
	for _, k := range last.Keys {
		aaguids = append(aaguids, k.AAGUID)
	}
	r.checks = append(r.checks, posture.Evaluate(posture.Read(ctx, r.g, u.ID, aaguids))...)
	return u
}

// AuditPosture audits the break-glass posture of an account as the health
// check does (internal/posture: cloud-only on the tenant's initial domain,
// enabled, password never expires, Global Administrator active and
// permanent, every Conditional Access policy that would apply and the
// groups that exclude the account, the FIDO2 method policy), read only:
// the ceremony's preflight shows these checks to the officers before they
// start. accounts is how many break-glass accounts the configuration names
// (0: not known): fewer than two is a finding.
func AuditPosture(ctx context.Context, g Graph, account string, accounts int) []Check {
	s := posture.Read(ctx, g, account, nil)
	s.Accounts = accounts
	return posture.Evaluate(s)
}

// firmware compares the key's firmware with the report's, both in the
// vendor's form (ctap.FormatFirmware) from the same source; a report that
// records none says "not reported". A report written before the CTAPHID_INIT
// device version was shown as major.minor.build for every vendor recorded
// the integer: that integer is the same firmware, and passes, said so.
func (r *run) firmware(name string, info *ctap.Info, k report.Key) {
	recorded := k.Firmware
	if recorded == "" {
		recorded = "not reported"
	}
	if k.FirmwareSource != "" && k.Firmware != "" {
		recorded += " (" + k.FirmwareSource + ")"
	}
	if info.FirmwareVersion == nil && slices.Contains(info.Unavailable, "firmwareVersion") {
		r.add(name+" firmware", CouldNot, "this backend cannot read getInfo firmwareVersion (the report records %s): "+
			"use the native backend to check it", recorded)
		return
	}
	fw, shown := "", "not reported"
	if info.FirmwareVersion != nil {
		fw, _ = ctap.FormatFirmware(info.AAGUID, *info.FirmwareVersion, info.FirmwareSource)
		shown = fmt.Sprintf("%s (%s)", fw, info.FirmwareSource)
	}
	switch {
	case fw == k.Firmware:
		r.add(name+" firmware", Pass, "firmware %s as recorded", shown)
	case info.FirmwareVersion != nil && k.Firmware == strconv.FormatUint(*info.FirmwareVersion, 10):
		r.add(name+" firmware", Pass, "firmware %s as recorded (the report wrote it as the integer %s)",
			shown, k.Firmware)
	default:
		r.add(name+" firmware", Finding, "firmware %s, the report records %s", shown, recorded)
	}
}

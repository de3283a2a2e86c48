package history

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/sigfile"
)

// Policy says how often an account's keys are rotated and checked.
type Policy struct {
	RotationInterval time.Duration // default one year
	HealthInterval   time.Duration // default 90 days
}

// Defaults: Microsoft's guidance is to rotate and check emergency access
// regularly; one year and a quarter are the usual schedule.
const (
	defaultRotationInterval = 365 * 24 * time.Hour
	defaultHealthInterval   = 90 * 24 * time.Hour
)

// Options say what to trust and when "now" is.
type Options struct {
	// Trusted are the SHA256 fingerprints of the workstation keys the
	// auditor trusts (from the paper copies); a report signed by another key
	// is a problem even when its signature verifies.
	Trusted   []string
	Rehearsal bool // accept rehearsal reports (a rehearsal safe)
	Policy    Policy
	Now       time.Time
}

// Problem kinds, each its own exit status class.
const (
	kindBroken  = "broken"  // a signature, a file or a chain link does not verify: exit 2
	kindOverdue = "overdue" // a rotation or health check is late: exit 1
	kindFinding = "finding" // the latest report of an account has open findings: exit 1
)

// Problem is one thing the auditor must look at.
type Problem struct {
	Kind    string `json:"kind"`
	Account string `json:"account,omitempty"`
	File    string `json:"file,omitempty"`
	Message string `json:"message"`
}

// Entry is one verified report in an account's timeline.
type Entry struct {
	File       string          `json:"file"`
	SHA256     string          `json:"sha256"`
	Type       string          `json:"type"`
	CeremonyID string          `json:"ceremony_id"`
	Started    time.Time       `json:"started"`
	Ended      time.Time       `json:"ended"`
	Officers   []report.Person `json:"officers"`
	Signer     string          `json:"signer_fingerprint"`
	Enrolled   []string        `json:"enrolled,omitempty"`
	Retired    []string        `json:"retired,omitempty"`
	Findings   []string        `json:"findings,omitempty"`
	Deviations []string        `json:"deviations,omitempty"`
	Previous   string          `json:"previous_sha256,omitempty"`
	UPN        string          `json:"upn"` // the account's name in this report
	// Rehearsal marks a rehearsal's report: virtual keys, an emulated
	// tenant, a throw-away signing key; it proves nothing about a real key.
	Rehearsal bool `json:"rehearsal"`
}

// Account is one account's timeline, oldest first, and what is due.
type Account struct {
	UPN          string    `json:"upn"`
	ObjectID     string    `json:"object_id"`
	Entries      []Entry   `json:"entries"`
	NextRotation time.Time `json:"next_rotation,omitzero"`
	NextHealth   time.Time `json:"next_health_check,omitzero"`
}

// History is what a safe's folder says.
type History struct {
	Dir      string    `json:"dir"`
	Checked  time.Time `json:"checked"`
	Accounts []Account `json:"accounts"`
	// Summaries are the sittings' summary pages that verify.
	Summaries []string  `json:"summaries,omitempty"`
	Problems  []Problem `json:"problems"`
	// Rehearsal is set when any report read is a rehearsal's (only
	// possible when Options.Rehearsal accepted them).
	Rehearsal bool `json:"rehearsal"`
}

// exitCode is 0 when every file verifies and nothing is overdue or open,
// 1 when something is overdue or a finding is open, 2 when a signature, a
// file or the chain is broken.
func (h *History) exitCode() int {
	code := 0
	for _, p := range h.Problems {
		switch p.Kind {
		case kindBroken:
			return 2
		default:
			code = 1
		}
	}
	return code
}

// Err is nil when every file verifies and nothing is overdue or open;
// otherwise it says so in brief (the problems are in the text above it),
// and its ExitCode is 1 when something is overdue or a finding is open,
// 2 when a signature, a file or the chain is broken.
func (h *History) Err() error {
	switch h.exitCode() {
	case 2:
		return problems{
			fmt.Sprintf("%d problem(s); a signature, a file or a chain link is broken (see above)", len(h.Problems)),
			2,
		}
	case 1:
		return problems{
			fmt.Sprintf("%d problem(s): something is overdue or a finding is open (see above)", len(h.Problems)),
			1,
		}
	}
	return nil
}

// problems is what Err returns: a message and the exit code it means.
type problems struct {
	msg  string
	code int
}

func (p problems) Error() string { return p.msg }

// ExitCode is the command's exit code: 1 overdue or open, 2 broken.
func (p problems) ExitCode() int { return p.code }

// fingerprints returns the trusted keys' fingerprints in ssh-keygen's form
// ("SHA256:" and 43 characters of unpadded base64), accepting them also
// without the prefix, as an auditor may copy them from a paper page.
func fingerprints(given []string) ([]string, error) {
	out := make([]string, 0, len(given))
	for _, g := range given {
		bare := strings.TrimPrefix(strings.TrimSpace(g), "SHA256:")
		if b, err := base64.RawStdEncoding.DecodeString(bare); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("%q is not a workstation key's fingerprint: give it as the paper copy prints it, "+
				"SHA256: followed by 43 characters (e.g. SHA256:%s)", g, strings.Repeat("A", 43))
		}
		out = append(out, "SHA256:"+bare)
	}
	return out, nil
}

// Read walks dir for report.json files, verifies each with the signature
// beside it and the key it names, checks that key is trusted, links the
// reports of each account into its chain and finds what is missing,
// forked or due.
func Read(dir string, opts Options) (*History, error) {
	if opts.Policy.RotationInterval == 0 {
		opts.Policy.RotationInterval = defaultRotationInterval
	}
	if opts.Policy.HealthInterval == 0 {
		opts.Policy.HealthInterval = defaultHealthInterval
	}
	if len(opts.Trusted) == 0 {
		return nil, errors.New(
			"say which workstation keys you trust (their SHA256 fingerprints, from the paper copies)",
		)
	}
	trusted, err := fingerprints(opts.Trusted)
	if err != nil {
		return nil, err
	}
	opts.Trusted = trusted
	h := &History{Dir: dir, Checked: opts.Now.UTC()}
	var files, summaries []string
	keys := map[string]ssh.PublicKey{} // trusted keys seen signing a report
	reports := map[string]bool{}       // SHA-256 of every verified report
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
		case d.Name() == report.FileReport:
			files = append(files, p)
		case d.Name() == report.FileSummary:
			summaries = append(summaries, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no %s under %s", report.FileReport, dir)
	}
	sort.Strings(files)
	accounts := map[string]*Account{}
	var order []string
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		e, acct, pub, prob := verifyFile(f, rel, opts)
		if prob != nil {
			h.Problems = append(h.Problems, *prob)
			continue
		}
		keys[e.Signer], reports[e.SHA256] = pub, true
		// An account is its object ID: a UPN may be renamed between
		// ceremonies and the chain goes on.
		key := acct.ObjectID
		if key == "" {
			key = "upn:" + acct.UPN
		}
		if accounts[key] == nil {
			accounts[key] = &Account{UPN: acct.UPN, ObjectID: acct.ObjectID}
			order = append(order, key)
		}
		accounts[key].Entries = append(accounts[key].Entries, *e)
		h.Rehearsal = h.Rehearsal || e.Rehearsal
	}
	for _, k := range order {
		a := accounts[k]
		sort.SliceStable(a.Entries, func(i, j int) bool { return a.Entries[i].Started.Before(a.Entries[j].Started) })
		a.UPN = a.Entries[len(a.Entries)-1].UPN // the latest name
		h.Problems = append(h.Problems, chainProblems(a)...)
		h.Problems = append(h.Problems, due(a, opts)...)
		h.Accounts = append(h.Accounts, *a)
	}
	sort.SliceStable(h.Accounts, func(i, j int) bool { return h.Accounts[i].UPN < h.Accounts[j].UPN })
	sort.Strings(summaries)
	for _, f := range summaries {
		rel, _ := filepath.Rel(dir, f)
		if prob := verifySummary(f, rel, keys, reports); prob != nil {
			h.Problems = append(h.Problems, *prob)
			continue
		}
		h.Summaries = append(h.Summaries, rel)
	}
	return h, nil
}

// summaryReport matches a report a sitting's summary names by its hash.
var summaryReport = regexp.MustCompile(`SHA-256 ([0-9a-f]{64})`)

// verifySummary checks a sitting's summary page: signed by a trusted
// workstation key, and every report it names is in the safe and verifies.
func verifySummary(path, rel string, keys map[string]ssh.PublicKey, reports map[string]bool) *Problem {
	broken := func(format string, a ...any) *Problem {
		return &Problem{Kind: kindBroken, File: rel, Message: fmt.Sprintf(format, a...)}
	}
	page, err := os.ReadFile(path)
	if err != nil {
		return broken("unreadable: %v", err)
	}
	sig, err := os.ReadFile(filepath.Join(filepath.Dir(path), report.FileSummarySignature))
	if err != nil {
		return broken("the sitting's summary has no signature beside it (%s)", report.FileSummarySignature)
	}
	signed := false
	for _, pub := range keys {
		if sigfile.Verify(page, sig, pub, report.Namespace) == nil {
			signed = true
			break
		}
	}
	if !signed {
		return broken("the sitting's summary does not verify with any trusted workstation key")
	}
	for _, m := range summaryReport.FindAllStringSubmatch(string(page), -1) {
		if !reports[m[1]] {
			return broken(
				"the sitting's summary names report %s, which is not in the safe or does not verify",
				short(m[1]),
			)
		}
	}
	return nil
}

// verifyFile verifies one report with the signature beside it.
func verifyFile(path, rel string, opts Options) (*Entry, report.Account, ssh.PublicKey, *Problem) {
	broken := func(format string, a ...any) (*Entry, report.Account, ssh.PublicKey, *Problem) {
		return nil, report.Account{}, nil, &Problem{Kind: kindBroken, File: rel, Message: fmt.Sprintf(format, a...)}
	}
	body, err := os.ReadFile(path)
	if err != nil {
		return broken("unreadable: %v", err)
	}
	sig, err := os.ReadFile(filepath.Join(filepath.Dir(path), report.FileSignature))
	if err != nil {
		return broken("no signature beside it (%s): %v", report.FileSignature, err)
	}
	named, err := report.Parse(body) // only for the key it names: verified below
	if err != nil {
		return broken("not a report: %v", err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(named.Workstation.SignerPublicKey))
	if err != nil {
		return broken("the signing key it names is unreadable: %v", err)
	}
	fp := ssh.FingerprintSHA256(pub)
	if !slices.Contains(opts.Trusted, fp) {
		return broken("signed by an unknown workstation key %s (trusted: %s)", fp, strings.Join(opts.Trusted, ", "))
	}
	r, err := report.Verify(body, sig, pub, report.VerifyOptions{Rehearsal: opts.Rehearsal})
	if err != nil {
		return broken("does not verify: %v", err)
	}
	sum := sha256.Sum256(body)
	e := &Entry{
		File:       rel,
		SHA256:     hex.EncodeToString(sum[:]),
		Type:       r.Type,
		CeremonyID: r.CeremonyID,
		Started:    r.Started,
		Ended:      r.Ended,
		Officers:   r.Officers,
		Signer:     fp,
		Findings:   r.Findings,
		Deviations: r.Deviations,
		UPN:        r.Account.UPN,
		Rehearsal:  r.Rehearsal,
	}
	if r.Previous != nil {
		e.Previous = r.Previous.SHA256
	}
	if r.Type == report.TypeCeremony {
		for _, k := range r.Keys {
			e.Enrolled = append(
				e.Enrolled,
				fmt.Sprintf("key %d: %s, %q (%s)", k.Slot, k.Model, k.DisplayName, k.GraphMethodID),
			)
		}
		for _, k := range r.Retired {
			e.Retired = append(e.Retired, retiredName(k))
		}
	}
	return e, r.Account, pub, nil
}

// chainProblems finds the reports missing from an account's chain, and
// forks: two reports naming the same previous one, or two chains starting.
func chainProblems(a *Account) []Problem {
	var out []Problem
	have := map[string]Entry{}
	for _, e := range a.Entries {
		have[e.SHA256] = e
	}
	next := map[string][]string{}
	for _, e := range a.Entries {
		next[e.Previous] = append(next[e.Previous], e.File)
		if e.Previous != "" {
			if _, ok := have[e.Previous]; !ok {
				out = append(out, Problem{Kind: kindBroken, Account: a.UPN, File: e.File,
					Message: fmt.Sprintf(
						"a report is missing from the chain: %s names previous report %s, which is not in the folder",
						e.CeremonyID,
						short(e.Previous),
					)})
			}
		}
	}
	for prev, files := range next {
		if len(files) < 2 {
			continue
		}
		what := "previous report " + short(prev)
		if prev == "" {
			what = "no previous report (two chains start)"
		}
		out = append(out, Problem{Kind: kindBroken, Account: a.UPN,
			Message: fmt.Sprintf("the chain forks: %s all name %s", strings.Join(files, " and "), what)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Message < out[j].Message })
	return out
}

// due sets the next rotation and health check and says what is late and
// what is open.
func due(a *Account, opts Options) []Problem {
	var out []Problem
	var lastCeremony, last *Entry
	for i := range a.Entries {
		e := &a.Entries[i]
		if e.Type == report.TypeCeremony {
			lastCeremony = e
		}
		last = e
	}
	if lastCeremony != nil {
		a.NextRotation = lastCeremony.Ended.Add(opts.Policy.RotationInterval).UTC()
		if opts.Now.After(a.NextRotation) {
			out = append(out, Problem{Kind: kindOverdue, Account: a.UPN,
				Message: fmt.Sprintf(
					"key rotation overdue since %s (last ceremony %s on %s)",
					day(a.NextRotation),
					lastCeremony.CeremonyID,
					day(lastCeremony.Ended),
				)})
		}
	} else {
		out = append(out, Problem{Kind: kindOverdue, Account: a.UPN,
			Message: "no ceremony report in the folder: the keys' provenance is unknown"})
	}
	if last != nil {
		a.NextHealth = last.Ended.Add(opts.Policy.HealthInterval).UTC()
		if opts.Now.After(a.NextHealth) {
			out = append(out, Problem{Kind: kindOverdue, Account: a.UPN,
				Message: fmt.Sprintf(
					"health check overdue since %s (last report %s on %s)",
					day(a.NextHealth),
					last.CeremonyID,
					day(last.Ended),
				)})
		}
		if len(last.Findings) > 0 {
			out = append(out, Problem{Kind: kindFinding, Account: a.UPN, File: last.File,
				Message: fmt.Sprintf(
					"%d finding(s) open in the latest report %s: %s",
					len(last.Findings),
					last.CeremonyID,
					strings.Join(last.Findings, "; "),
				)})
		}
	}
	return out
}

func retiredName(r report.Retired) string {
	if r.DisplayName == "" {
		return r.GraphMethodID
	}
	return fmt.Sprintf("%q (%s)", r.DisplayName, r.GraphMethodID)
}

func short(sum string) string {
	if len(sum) > 16 {
		return sum[:16] + "…"
	}
	return sum
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

package ceremony

// Report: the signed record of the ceremony, written whole, and finishing
// one a crash interrupted.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/keyceremony/keyceremony/report"
)

// report builds, signs and writes the report from the journal.
func (e *Engine) report(ctx context.Context, keys []report.Key, retired []report.Retired) (*Result, error) {
	if d, ok := e.journal.done("report"); ok {
		return &Result{Dir: d["dir"], Fingerprint: d["fingerprint"]}, nil
	}
	r, err := e.reportModel(keys, retired)
	if err != nil {
		return nil, err
	}
	if _, err := e.confirmBoth(ctx, signSummary(r)); err != nil {
		return nil, err
	}
	if e.journal.begun("report") {
		if res, err := e.finishInterruptedReport(keys, retired); res != nil || err != nil {
			return res, err
		}
		if r, err = e.reportModel(keys, retired); err != nil { // with the deviation just recorded
			return nil, err
		}
	}
	r.Ended = e.cfg.Now().UTC()
	if err := e.journal.Append("report", "begin", nil); err != nil {
		return nil, err
	}
	w, err := report.Write(e.cfg.OutDir, r, e.cfg.Signer)
	if err != nil {
		return nil, e.failed("report", err)
	}
	return e.reportDone(w, keys, retired, nil)
}

// reportModel is the report of this ceremony as it will be signed.
func (e *Engine) reportModel(keys []report.Key, retired []report.Retired) (*report.Report, error) {
	r := &report.Report{
		Type: report.TypeCeremony, Rehearsal: e.cfg.Rehearsal, CeremonyID: e.ceremonyID(),
		Started: e.started, Ended: e.cfg.Now().UTC(),
		Tenant:  report.Tenant{ID: e.cfg.TenantID, Domain: e.cfg.Domain},
		Account: report.Account{UPN: e.user.UPN, ObjectID: e.user.ID},
		Officers: []report.Person{
			{Role: "officer-a", Name: e.cfg.OfficerA},
			{Role: "officer-b", Name: e.cfg.OfficerB},
		},
		Workstation: report.Workstation{Hostname: e.cfg.Hostname}, Tool: e.cfg.Tool,
		Policy: &report.PolicyRef{Name: e.cfg.Verifier.Policy.Name, SHA256: e.cfg.Verifier.Policy.SHA256()},
		Keys:   keys, Retired: retired, Steps: stepsFromJournal(e.journal.recorded()),
	}
	if e.cfg.Witness != "" {
		r.Officers = append(r.Officers, report.Person{Role: "witness", Name: e.cfg.Witness})
	}
	if m := e.cfg.Verifier.MDS; m != nil {
		r.MDS = &report.MDSRef{SHA256: m.SHA256, Serial: m.Serial}
	}
	if e.cfg.Previous != nil {
		prev, err := report.Parse(e.cfg.Previous)
		if err != nil {
			return nil, fmt.Errorf("previous report: %w", err)
		}
		r.Previous = report.Ref(e.cfg.Previous, prev)
	}
	r.Deviations = append(r.Deviations, e.cfg.Deviations...)
	r.Findings = append(r.Findings, e.cfg.PostureFindings...)
	for _, en := range e.journal.recorded() {
		if d := en.Data["deviation"]; d != "" && !slices.Contains(r.Deviations, d) {
			r.Deviations = append(r.Deviations, d)
		}
		if en.Phase == "done" && en.Data["reconciled"] != "" {
			r.Deviations = append(
				r.Deviations,
				fmt.Sprintf("%s resumed after an interruption: %s", en.Step, en.Data["reconciled"]),
			)
		}
	}
	return r, nil
}

// reportDone records the written report in the journal.
func (e *Engine) reportDone(w *report.Written, keys []report.Key, retired []report.Retired,
	data map[string]string) (*Result, error) {
	sum := sha256.Sum256(w.ReportJSON)
	if data == nil {
		data = map[string]string{}
	}
	data["dir"], data["fingerprint"], data["report_sha256"] = w.Dir, w.Fingerprint, hex.EncodeToString(sum[:])
	if err := e.journal.Append("report", "done", data); err != nil {
		return nil, err
	}
	res := &Result{Dir: w.Dir, Fingerprint: w.Fingerprint}
	for _, k := range keys {
		res.Methods = append(res.Methods, k.GraphMethodID)
	}
	for _, x := range retired {
		res.Retired = append(res.Retired, x.GraphMethodID)
	}
	return res, nil
}

// finishInterruptedReport finishes, on resume, a report whose writing was
// interrupted (begun, never recorded done). The journal never moves: the
// report's files are written beside it, each whole, report.json last (see
// report.Write). A report.json already there is this ceremony's report,
// signed before the interruption: its missing files are written and it is
// recorded done, unchanged. No report.json: nil, after the deviation is
// recorded, and the report is built and written again.
func (e *Engine) finishInterruptedReport(keys []report.Key, retired []report.Retired) (*Result, error) {
	path := filepath.Join(e.cfg.OutDir, report.FileReport)
	body, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, e.deviate("report",
			"writing the report was interrupted before report.json was written: "+
				"it was built and signed again on resume")
	} else if err != nil {
		return nil, fmt.Errorf("the interrupted report: %w", err)
	}
	r, err := report.Parse(body)
	if err != nil || r.CeremonyID != e.ceremonyID() || r.Account.ObjectID != e.user.ID {
		return nil, fmt.Errorf("%s is not the report of this ceremony (%s of %s): it is never replaced; "+
			"move it out of %s, then resume with the same command", path, e.ceremonyID(), e.user.UPN, e.cfg.OutDir)
	}
	w, err := report.Write(e.cfg.OutDir, r, e.cfg.Signer)
	if err != nil {
		return nil, e.failed("report", fmt.Errorf("finish the interrupted report: %w", err))
	}
	e.prompt.Progress("report",
		"the report was signed before the interruption: its missing files were written, report.json unchanged")
	return e.reportDone(w, keys, retired, map[string]string{"reconciled": "report.json was signed and written " +
		"before the interruption; the files missing beside it were written on resume"})
}

// stepsFromJournal pairs each step's first entry with its final one.
func stepsFromJournal(entries []Entry) []report.Step {
	var out []report.Step
	index := map[string]int{}
	for _, en := range entries {
		i, seen := index[en.Step]
		if !seen {
			index[en.Step] = len(out)
			out = append(out, report.Step{Name: en.Step, Started: en.Time, Ended: en.Time, Outcome: en.Phase})
			i = len(out) - 1
		}
		out[i].Ended, out[i].Outcome = en.Time, en.Phase
		if o := en.Data["outcome"]; o != "" {
			out[i].Outcome = o // what is known of a step resumed after an interruption
		}
		if by := en.Data["confirmed_by"]; by != "" {
			out[i].ConfirmedBy = strings.Split(by, ", ")
		}
		if d := en.Data["reconciled"]; d != "" {
			out[i].Detail = d
		} else if d := en.Data["error"]; d != "" {
			out[i].Detail = d
		}
	}
	return out
}

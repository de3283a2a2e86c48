package health_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/health"
	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
	"github.com/keyceremony/keyceremony/report"
)

// The monitoring audit (Config.Monitoring) is asked about the account the
// last report names, since that report ended; its checks are the health
// check's, and its findings go into the signed report.
func TestMonitoringChecksGoIntoTheReport(t *testing.T) {
	w := afterCeremony(t)
	last, err := report.Parse(w.last)
	if err != nil {
		t.Fatal(err)
	}
	var gotAccount report.Account
	var gotSince time.Time
	pub, _ := w.env.Signer.SSHPublicKey()
	out := filepath.Join(t.TempDir(), "health")
	res, err := health.Run(context.Background(), health.Config{LastReport: w.last, LastSignature: w.sig, PublicKey: pub, Rehearsal: true,
		Verifier: w.env.Verifier, OfficerA: rehearsal.OfficerA, OfficerB: rehearsal.OfficerB, Signer: w.env.Signer, Hostname: "ws", OutDir: out,
		Monitoring: func(_ context.Context, a report.Account, since time.Time) []health.Check {
			gotAccount, gotSince = a, since
			return []health.Check{{Name: "alert fired", Status: health.Finding, Detail: "the alert did not fire for the sign-in at 2026-11-30T10:00:00Z"}}
		}}, w.env.Devices, w.env.Tenant.Client, w.prompter)
	if err != nil {
		t.Fatal(err)
	}
	if gotAccount.ObjectID != last.Account.ObjectID || gotAccount.ObjectID == "" || !gotSince.Equal(last.Ended) {
		t.Errorf("monitoring asked about %+v since %s; the last report is %+v, ended %s", gotAccount, gotSince, last.Account, last.Ended)
	}
	if st, _ := status(res, "alert fired"); st != health.Finding {
		t.Errorf("alert fired: %s", st)
	}
	body, _ := os.ReadFile(filepath.Join(res.Dir, report.FileReport))
	if !strings.Contains(string(body), "alert fired (finding): the alert did not fire for the sign-in at 2026-11-30T10:00:00Z") {
		t.Errorf("the signed report lacks the monitoring finding:\n%s", body)
	}
}

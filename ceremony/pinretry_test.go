package ceremony_test

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
)

// slippingPrompter is the rehearsal's officers, but officer A mistypes her
// half the first slips times she is asked for the PIN a key already has.
type slippingPrompter struct {
	*rehearsal.Prompter
	officer string
	slips   int
}

func (p *slippingPrompter) PINHalf(ctx context.Context, slot int, name string, newPIN bool) ([]byte, error) {
	h, err := p.Prompter.PINHalf(ctx, slot, name, newPIN)
	if err == nil && !newPIN && name == p.officer && p.slips > 0 {
		p.slips--
		h[0] = '0' + (h[0]-'0'+1)%10
	}
	return h, err
}

// Issue 30: a wrong PIN half on resume is asked again (the key lets a
// person retry, and the client's retry floor keeps the last retries), not
// the end of the run; the journal records each wrong PIN, who typed the
// halves and the retries left, never the PIN.
func TestWrongPINHalfOnResumeIsAskedAgain(t *testing.T) {
	w := newCrashWorld(t, true, "")
	w.stopAfter(t, func(e ceremony.Entry) bool { return e.Step == "key1/pin" && e.Phase == "done" })
	slips := &slippingPrompter{Prompter: w.p, officer: w.cfg.OfficerA, slips: 2}
	j, err := ceremony.OpenOrCreateJournal(w.path, true)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ceremony.New(w.cfg, j, w.devs, w.env.Tenant.Client, slips)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Run(context.Background())
	j.Close()
	if err != nil {
		t.Fatalf("the resume after two wrong halves: %v\n%s", err, w.out.String())
	}
	if slips.slips != 0 || res == nil {
		t.Fatalf("the wrong halves were not all asked: %d left", slips.slips)
	}
	if got := strings.Count(w.out.String(), "the PIN joined from your halves is wrong"); got != 2 {
		t.Errorf("the officers were told %d times of a wrong PIN, want 2:\n%s", got, w.out.String())
	}
	entries, err := ceremony.ReadJournal(w.path)
	if err != nil {
		t.Fatal(err)
	}
	var wrong []ceremony.Entry
	for _, en := range entries {
		if en.Step == "key1/pin-wrong" {
			wrong = append(wrong, en)
		}
	}
	if len(wrong) != 2 || wrong[0].Data["retries_left"] != "7" || wrong[1].Data["retries_left"] != "6" ||
		!strings.Contains(wrong[0].Data["halves_by"], w.cfg.OfficerA) {
		t.Fatalf("the journal's wrong PIN entries: %+v", wrong)
	}
	body, err := os.ReadFile(w.path)
	if err != nil {
		t.Fatal(err)
	}
	// A half counts when it stands alone (a JSON value or word): its four
	// digits also turn up by chance inside timestamps' nanoseconds and hashes.
	pin := w.p.PIN(1, w.cfg.OfficerA, w.cfg.OfficerB)
	for _, secret := range [][]byte{pin, pin[:4], pin[4:]} {
		if regexp.MustCompile(`(^|[^0-9a-fA-F])` + string(secret) + `([^0-9a-fA-F]|$)`).Match(body) {
			t.Fatalf("the journal holds the PIN or a half (%d digits)", len(secret))
		}
	}
}

// Issue 30: on resume the screen starts where the journal says: each step
// done before the interruption is shown (once) before anything new.
func TestResumeShowsWhatWasDone(t *testing.T) {
	w := newCrashWorld(t, true, "")
	w.stopAfter(t, func(e ceremony.Entry) bool { return e.Step == "key1/pin" && e.Phase == "done" })
	w.out.Reset()
	if _, err := w.run(t, -1); err != nil {
		t.Fatalf("resume: %v\n%s", err, w.out.String())
	}
	lines := strings.Split(w.out.String(), "\n")
	var done []string
	for _, l := range lines {
		if strings.Contains(l, "done before the interruption") {
			done = append(done, strings.Fields(l)[0])
		}
	}
	if strings.Join(done, " ") != "preflight key1/insert key1/reset key1/pin" {
		t.Fatalf("shown as done on resume: %q\n%s", done, w.out.String())
	}
	if !strings.Contains(lines[0], "done before the interruption") {
		t.Fatalf("the screen did not start with what was done:\n%s", w.out.String())
	}
}

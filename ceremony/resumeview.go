package ceremony

import "strings"

// showDone tells the officers, on a resume, which counted steps the journal
// says were done before the interruption (ceremony.Config.StepCount's
// names: preflight, keyN/insert … keyN/test), so that the screen's progress
// starts where the journal says and shows what was already done.
func (e *Engine) showDone() {
	seen := map[string]bool{}
	for _, en := range e.journal.recorded() {
		var names []string
		slot, step, keyed := strings.Cut(en.Step, "/")
		switch {
		case en.Step == "preflight" && en.Phase == "done":
			names = []string{"preflight"}
		case !keyed || !strings.HasPrefix(slot, "key"):
		case step == "insert" && en.Phase == "note":
			names = []string{en.Step}
		case step == "reset" || step == "pin" || step == "enroll":
			if en.Phase == "done" {
				names = []string{en.Step}
			}
		case step == "created" && en.Phase == "done":
			names = []string{slot + "/create", slot + "/attest"}
		case step == "tested" && en.Phase == "done":
			names = []string{slot + "/test"}
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				e.prompt.Progress(n, "done before the interruption (from the journal)")
			}
		}
	}
}

package tui

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/keyceremony/keyceremony/officer"
)

type requestKind int

const (
	reqInstruct requestKind = iota + 1
	reqConfirm
	reqPIN
)

// request is a question from the engine, answered on reply.
type request struct {
	kind    requestKind
	text    string
	officer string
	slot    int
	newPIN  bool
	reply   chan answer
}

type answer struct {
	ok     bool
	secret []byte
}

// Messages from the engine side.
type (
	progressMsg struct{ step, detail string }
	touchMsg    struct{ slot int }
	// touchQuiet is sent touchQuietAfter after touch signal seq: if no
	// signal came since, the key stopped asking (the touch is done).
	touchQuiet struct{ seq int }
	// DoneMsg ends the ceremony screen with its outcome.
	DoneMsg struct {
		Title, Fingerprint, Detail string
		Err                        error
		Hint                       string // after a stop: where the journal is, how to resume
		// Results, one a line (the health check's "pass  key 1 model"),
		// are shown in place of the log: every check and its result on
		// the one last screen, in two columns when each fits half.
		Results []string
	}
)

var (
	titleStyle  = lipgloss.NewStyle().Bold(true)
	warnStyle   = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("9"))
	actionStyle = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("11"))
	dimStyle    = lipgloss.NewStyle().Faint(true)
)

// model is the bubbletea model of a ceremony screen.
type model struct {
	title      string
	totalSteps int
	doneSteps  int
	stepsSeen  map[string]bool // the counted steps that reported, each once
	log        []string
	current    *request
	input      textinput.Model // confirmations (not secret)
	secret     secretInput     // PIN halves
	firstEntry []byte
	notice     string
	touching   bool
	touchSeq   int // touch signals so far
	askQuit    bool
	done       *DoneMsg
	width      int
	height     int
}

// newModel returns the ceremony screen's bubbletea model; totalSteps sizes
// the progress line.
func newModel(title string, totalSteps int) tea.Model {
	in := textinput.New()
	in.Prompt = "> "
	in.CharLimit = 63
	return model{title: title, totalSteps: totalSteps, input: in, width: 80, height: 24, stepsSeen: map[string]bool{}}
}

// Init implements tea.Model.
func (m model) Init() tea.Cmd { return nil }

// Update implements tea.Model.
func (m model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case *request:
		clear(m.firstEntry)
		m.current, m.notice, m.firstEntry = msg, "", nil
		m.touching = false // a question means the touch is over
		m.input.Reset()
		m.secret.wipe()
		return m, m.input.Focus()
	case progressMsg:
		// The bar counts steps, not attempts: a step reported again (a PIN
		// asked again, a key re-plugged) is not progress, and it stays
		// short of the end until the ceremony says it is done.
		if countedStep(msg.step) && !m.stepsSeen[msg.step] {
			m.stepsSeen[msg.step] = true
			m.doneSteps = min(m.doneSteps+1, max(m.totalSteps-1, 0))
		}
		m.touching = false
		m.log = append(m.log, fmt.Sprintf("%-12s %s", msg.step, msg.detail))
		if len(m.log) > 8 {
			m.log = m.log[len(m.log)-8:]
		}
	case touchMsg:
		// A key asks for the touch with a keepalive every 100 ms while it
		// waits; once they stop, the touch is done and the line goes.
		m.touching = true
		m.touchSeq++
		seq := m.touchSeq
		return m, tea.Tick(touchQuietAfter, func(time.Time) tea.Msg { return touchQuiet{seq: seq} })
	case touchQuiet:
		if msg.seq == m.touchSeq {
			m.touching = false
		}
	case DoneMsg:
		m.done, m.current, m.touching = &msg, nil, false // no stale "touch the key" on the last screen
		if msg.Err == nil {
			m.doneSteps = m.totalSteps // finished: the bar says so, however many steps were counted
		}
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

// key handles the keyboard.
func (m model) key(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	if m.done != nil {
		return m, tea.Quit
	}
	if k.Type == tea.KeyCtrlC {
		if m.askQuit {
			m.answer(answer{ok: false})
			return m, tea.Quit
		}
		m.askQuit = true
		return m, nil
	}
	if m.askQuit {
		switch strings.ToLower(k.String()) {
		case "y":
			m.answer(answer{ok: false})
			return m, tea.Quit
		case "n", "esc":
			m.askQuit = false
		}
		return m, nil
	}
	if m.current == nil {
		return m, nil
	}
	if k.Type != tea.KeyEnter {
		if m.current.kind == reqPIN {
			m.secret.update(k)
			return m, nil
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(k)
		return m, cmd
	}
	switch m.current.kind {
	case reqInstruct:
		m.answer(answer{ok: true})
	case reqConfirm:
		v := strings.ToLower(strings.TrimSpace(m.input.Value()))
		m.input.Reset()
		switch v {
		case "y", "yes":
			m.answer(answer{ok: true})
		case "n", "no":
			m.answer(answer{ok: false})
		default:
			m.notice = "Type y to confirm or n to refuse."
		}
	case reqPIN:
		v := m.secret.take()
		switch {
		case len(v) == 0:
			m.notice = "The half may not be empty."
		case m.firstEntry == nil:
			m.firstEntry, m.notice = v, "Type it again to confirm."
		case !bytes.Equal(m.firstEntry, v):
			clear(m.firstEntry)
			clear(v)
			m.firstEntry, m.notice = nil, "The two entries differ: start again."
		default:
			clear(m.firstEntry)
			m.firstEntry = nil
			m.answer(answer{ok: true, secret: v})
		}
	}
	return m, nil
}

// answer replies to the pending request, once.
func (m *model) answer(a answer) {
	if m.current == nil {
		return
	}
	m.current.reply <- a
	m.current, m.notice = nil, ""
}

// View implements tea.Model.
func (m model) View() string {
	var b strings.Builder
	w := min(m.width, 80)
	b.WriteString(titleStyle.Render(ansi.Wrap(m.title, w, "")) + "\n")
	if m.totalSteps > 0 { // a screen whose work counts no steps (the health check) has no bar
		b.WriteString(progressBar(m.doneSteps, m.totalSteps, w) + "\n")
	}
	b.WriteString("\n")
	log := m.log
	if m.done != nil && m.done.Err == nil && len(m.done.Results) > 0 {
		log = nil // the results take the log's place
	}
	bottom := m.bottom(w)
	// The log gets the rows the rest leaves (up to logBudget; at least
	// the newest entry): the question is not pushed off the screen.
	budget := max(m.height-strings.Count(b.String(), "\n")-strings.Count(bottom, "\n")-2, 1)
	for _, l := range logLines(log, w, min(budget, logBudget)) {
		b.WriteString(dimStyle.Render(l) + "\n")
	}
	b.WriteString("\n")
	return b.String() + bottom
}

// bottom is the screen under the log: the outcome, the question or
// "Working…", the notice, the touch line and the Ctrl-C help.
func (m model) bottom(w int) string {
	var b strings.Builder
	switch {
	case m.done != nil:
		if m.done.Err != nil {
			b.WriteString(warnStyle.Render(ansi.Wrap("STOPPED: "+m.done.Err.Error(), w, "")) + "\n")
			if m.done.Hint != "" { // how to resume: a ceremony's, never a read-only check's
				b.WriteString(ansi.Wrap(m.done.Hint, w, "") + "\n")
			}
		} else {
			b.WriteString(titleStyle.Render(ansi.Wrap(m.done.Title, w, "")) + "\n")
			// The results take the rows the rest of the screen leaves; what
			// does not fit is counted, never cut (the report lists it all).
			room := m.height - strings.Count(ansi.Wrap(m.title, w, ""), "\n") - 9 -
				strings.Count(ansi.Wrap(m.done.Detail, w, ""), "\n")
			for _, l := range fitResults(m.done.Results, w, room) {
				b.WriteString(l + "\n")
			}
			b.WriteString("Copy onto the envelope the fingerprint of the key that signed the report:\n  " +
				actionStyle.Render(m.done.Fingerprint) + "\n")
			b.WriteString(ansi.Wrap(m.done.Detail, w, "") + "\n")
		}
		b.WriteString(dimStyle.Render("Press any key to leave."))
		return b.String() // any key leaves: no Ctrl-C line
	case m.askQuit:
		b.WriteString(
			warnStyle.Render("Abandon the ceremony? What is done stays recorded in the journal. [y/n]") + "\n",
		)
	case m.current != nil:
		switch m.current.kind {
		case reqInstruct:
			b.WriteString(actionStyle.Render(ansi.Wrap(m.current.text, w, "")) + "\n")
			b.WriteString(dimStyle.Render("Press Enter when done.") + "\n")
		case reqConfirm:
			// Each officer confirms for themself: the screen names who and what.
			b.WriteString(
				actionStyle.Render(ansi.Wrap(m.current.officer+", you confirm: "+m.current.text, w, "")) + "\n",
			)
			b.WriteString(ansi.Wrap("Type y and Enter if you, "+m.current.officer+", agree; n to refuse "+
				"(the ceremony stops and the journal records who refused).", w, "") + "\n" + m.input.View() + "\n")
		case reqPIN:
			what := "the PIN set earlier"
			if m.current.newPIN {
				what = "the new PIN"
			}
			b.WriteString(actionStyle.Render(ansi.Wrap(fmt.Sprintf("%s: type your half of %s for key %d.",
				m.current.officer, what, m.current.slot), w, "")) + "\n")
			b.WriteString("The other officer looks away. Nothing you type is shown.\n" + m.secret.view() + "\n")
		}
	default:
		b.WriteString(dimStyle.Render("Working…") + "\n")
	}
	if m.notice != "" {
		b.WriteString(warnStyle.Render(ansi.Wrap(m.notice, w, "")) + "\n")
	}
	if m.touching {
		b.WriteString(warnStyle.Render("Touch the key now.") + "\n")
	}
	b.WriteString(dimStyle.Render("Ctrl-C: stop (asks first)"))
	return b.String()
}

func progressBar(done, total, width int) string {
	if total <= 0 {
		total = 1
	}
	done = min(done, total)
	n := width - 12
	if n < 10 {
		n = 10
	}
	filled := n * done / total
	return fmt.Sprintf("[%s%s] %3d%%", strings.Repeat("#", filled), strings.Repeat(".", n-filled), 100*done/total)
}

// columns lays out lines in two columns, filled down, when each fits half
// of width w; else one a line, wrapped. Nothing is cut.
func columns(lines []string, w int) []string {
	rows := (len(lines) + 1) / 2
	left, right := 0, 0
	for i, l := range lines {
		if i < rows {
			left = max(left, ansi.StringWidth(l))
		} else {
			right = max(right, ansi.StringWidth(l))
		}
	}
	if left+2+right > w {
		var out []string
		for _, l := range lines {
			out = append(out, strings.Split(ansi.Wrap(l, w, ""), "\n")...)
		}
		return out
	}
	out := make([]string, rows)
	for i := range rows {
		out[i] = lines[i]
		if j := i + rows; j < len(lines) {
			out[i] += strings.Repeat(" ", left+2-ansi.StringWidth(lines[i])) + lines[j]
		}
	}
	return out
}

// fitResults lays the results out in columns within room rows (when the
// terminal's height is known): the results that are not a pass come first,
// and when not all fit, the last row counts the passes left out, which the
// signed report lists.
func fitResults(results []string, w, room int) []string {
	var other, passes []string
	for _, r := range results {
		if strings.HasPrefix(r, "pass ") {
			passes = append(passes, r)
		} else {
			other = append(other, r)
		}
	}
	ordered := append(other, passes...)
	out := columns(ordered, w)
	if room <= 0 || len(out) <= room {
		return out
	}
	for n := len(ordered) - 1; n > len(other); n-- {
		out = columns(ordered[:n], w)
		if len(out) < room {
			return append(out, fmt.Sprintf("… and %d more pass; the health report lists every check",
				len(ordered)-n))
		}
	}
	return columns(ordered, w)
}

// touchQuietAfter is how long after the key's last request for a touch
// "Touch the key now." stays: several of its 100 ms keepalives.
const touchQuietAfter = 600 * time.Millisecond

// logBudget is how many screen lines the log may take at 24 rows: the
// title, the bar, the question and its help take the rest.
const logBudget = 10

// logLines wraps each log entry to width w, its continuation lines indented
// under the detail, and keeps the newest whole entries that fit in budget
// lines (at least the newest one, whole): an entry scrolls off the top, it
// is never cut.
func logLines(log []string, w, budget int) []string {
	const indent = 13 // "%-12s " of the step name
	var out []string
	for i := len(log) - 1; i >= 0; i-- {
		lines := strings.Split(ansi.Wrap(log[i], w, ""), "\n")
		if w > indent+20 && len(lines) > 1 {
			rest := strings.Split(ansi.Wrap(strings.Join(lines[1:], " "), w-indent, ""), "\n")
			for j := range rest {
				rest[j] = strings.Repeat(" ", indent) + rest[j]
			}
			lines = append(lines[:1], rest...)
		}
		if len(out) > 0 && len(out)+len(lines) > budget {
			break
		}
		out = append(lines, out...)
	}
	return out
}

// countedStep says whether a progress step is one the bar counts
// (ceremony.Config.StepCount): the preflight, each key's insert, reset,
// pin, create, attest, enroll and test, and the report.
func countedStep(step string) bool {
	switch step {
	case "preflight", "report":
		return true
	}
	slot, name, ok := strings.Cut(step, "/")
	if !ok || !strings.HasPrefix(slot, "key") || strings.Trim(slot[3:], "0123456789") != "" || len(slot) == 3 {
		return false
	}
	switch name {
	case "insert", "reset", "pin", "create", "attest", "enroll", "test":
		return true
	}
	return false
}

// newPrompter returns the officer.Prompter that asks through a running
// program whose model NewModel made.
func newPrompter(program *tea.Program) officer.Prompter { return prompter{program: program} }

// prompter implements officer.Prompter by asking through a running program.
type prompter struct {
	program *tea.Program
}

func (p prompter) ask(ctx context.Context, r *request) (answer, error) {
	r.reply = make(chan answer, 1)
	p.program.Send(r)
	select {
	case a := <-r.reply:
		return a, nil
	case <-ctx.Done():
		return answer{}, ctx.Err()
	}
}

// Instruct implements officer.Prompter.
func (p prompter) Instruct(ctx context.Context, in officer.Instruction) error {
	a, err := p.ask(ctx, &request{kind: reqInstruct, text: in.Text, slot: in.Slot})
	if err != nil {
		return err
	}
	if !a.ok {
		return officer.ErrAbandoned
	}
	return nil
}

// Confirm implements officer.Prompter.
func (p prompter) Confirm(ctx context.Context, name, action string) error {
	a, err := p.ask(ctx, &request{kind: reqConfirm, officer: name, text: action})
	if err != nil {
		return err
	}
	if !a.ok {
		return officer.ErrAbandoned
	}
	return nil
}

// PINHalf implements officer.Prompter.
func (p prompter) PINHalf(ctx context.Context, slot int, name string, newPIN bool) ([]byte, error) {
	a, err := p.ask(ctx, &request{kind: reqPIN, officer: name, slot: slot, newPIN: newPIN})
	if err != nil {
		return nil, err
	}
	if !a.ok {
		return nil, officer.ErrAbandoned
	}
	return a.secret, nil
}

// Touch implements officer.Prompter.
func (p prompter) Touch(slot int) { p.program.Send(touchMsg{slot: slot}) }

// Progress implements officer.Prompter.
func (p prompter) Progress(step, detail string) {
	p.program.Send(progressMsg{step: step, detail: detail})
}

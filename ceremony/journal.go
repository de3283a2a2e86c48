package ceremony

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/keyceremony/keyceremony/internal/durable"
	"github.com/keyceremony/keyceremony/report"
)

// Entry is one journal line. Data never holds a secret.
type Entry struct {
	Seq   int               `json:"seq"`
	Time  time.Time         `json:"time"`
	Step  string            `json:"step"`  // e.g. "key1/reset"
	Phase string            `json:"phase"` // begin, done, failed, note
	Data  map[string]string `json:"data,omitempty"`
	// Key is a key's record as the report will hold it (create, enroll,
	// tested); Retired the methods a retirement deleted.
	Key     *report.Key      `json:"key,omitempty"`
	Retired []report.Retired `json:"retired,omitempty"`
	Prev    string           `json:"prev"` // hash of the previous line
	Hash    string           `json:"hash"` // SHA-256 of this line without its hash
}

// Journal is an append-only, fsync'd, hash-chained log of the ceremony.
type Journal struct {
	f       journalFile
	size    int64 // the length of the whole lines on disk
	entries []Entry
	now     func() time.Time
	broken  error // the first failed write: every later append fails with it
	// repairs are what opening the journal cut off (a torn last line),
	// recorded in it and not yet shown to the officers.
	repairs []string
}

// journalFile is what a journal writes to: its file, or in tests a file
// that fails.
type journalFile interface {
	Write([]byte) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// errJournalBroken is wrapped when a journal's chain does not hold.
var errJournalBroken = errors.New("the ceremony journal is damaged or was edited")

// CreateJournal starts a new journal; the file must not exist.
func CreateJournal(path string, now func() time.Time) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	// The new file's name is made durable before anything is recorded in it.
	if err := durable.SyncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, fmt.Errorf("create journal: %w", err)
	}
	return &Journal{f: f, now: now}, nil
}

// openJournal reads an existing journal, verifies its chain, and opens it
// for appending (resume). A torn last line (a write that never completed,
// left by a crash or by an older build on a full disk) is cut off, never
// silently: the cut is recorded in the journal as a repair entry (which the
// report lists as a deviation) and shown to the officers when the ceremony
// resumes.
func openJournal(path string, now func() time.Time) (*Journal, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	entries, good, err := parseJournal(b)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	j := &Journal{f: f, size: int64(good), entries: entries, now: now}
	if good < len(b) {
		if err := j.cutTornTail(b[good:]); err != nil {
			f.Close()
			return nil, err
		}
	}
	return j, nil
}

// cutTornTail cuts the torn last line off an opened journal and records
// the repair: what was cut, after which step.
func (j *Journal) cutTornTail(torn []byte) error {
	if err := j.f.Truncate(j.size); err != nil {
		return fmt.Errorf("cut the torn last line of the journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("cut the torn last line of the journal: sync: %w", err)
	}
	after := "before its first entry"
	if n := len(j.entries); n > 0 {
		last := j.entries[n-1]
		after = fmt.Sprintf("after entry %d (%s %s)", last.Seq, last.Step, last.Phase)
	}
	what := describeTorn(torn)
	text := fmt.Sprintf("the journal ended in a torn line, %s: %s; it was never acknowledged and was cut off on resume",
		after, what)
	repair := Entry{Step: "journal", Phase: "repair", Data: map[string]string{"cut": what, "deviation": text}}
	if err := j.append(repair); err != nil {
		return fmt.Errorf("record the repair of the journal's torn last line: %w", err)
	}
	j.repairs = append(j.repairs, text)
	return nil
}

// describeTorn says what a torn journal line held: its length, the step
// and phase it began to record when they can be read, and its first bytes.
func describeTorn(torn []byte) string {
	field := func(name string) string {
		_, rest, ok := bytes.Cut(torn, []byte(`"`+name+`":"`))
		v, _, closed := bytes.Cut(rest, []byte(`"`))
		if !ok || !closed {
			return "?"
		}
		return string(v)
	}
	head := torn
	if len(head) > 80 {
		head = head[:80]
	}
	return fmt.Sprintf("%d bytes of an entry for step %s, phase %s (%q…)",
		len(torn), field("step"), field("phase"), head)
}

// takeRepairs returns the repairs opening the journal made that the
// officers were not shown yet, once.
func (j *Journal) takeRepairs() []string {
	r := j.repairs
	j.repairs = nil
	return r
}

// ReadJournal reads and verifies a journal. A torn last line (a crash in
// the middle of a write) is dropped: it was never acknowledged.
func ReadJournal(path string) ([]Entry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	entries, _, err := parseJournal(b)
	return entries, err
}

// parseJournal verifies the chain of a journal's bytes and returns its
// entries and the length of the lines that hold them (all but a torn end).
func parseJournal(b []byte) ([]Entry, int, error) {
	var out []Entry
	prev, good := "", 0
	for i := 0; len(b) > good; i++ {
		line, rest, complete := bytes.Cut(b[good:], []byte("\n"))
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			if !complete || len(rest) == 0 {
				break // torn final write
			}
			return nil, 0, fmt.Errorf("%w: line %d: %v", errJournalBroken, i+1, err)
		}
		if !complete {
			break // a whole entry without its newline: never acknowledged
		}
		if e.Prev != prev || e.Seq != i+1 || e.Hash != entryHash(e) {
			return nil, 0, fmt.Errorf("%w: line %d does not chain", errJournalBroken, i+1)
		}
		prev = e.Hash
		out = append(out, e)
		good += len(line) + 1
	}
	return out, good, nil
}

func entryHash(e Entry) string {
	e.Hash = ""
	b, _ := json.Marshal(e)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Append writes one entry and fsyncs before returning. Once a write has
// failed (a full disk, a read-only medium) every later append fails too:
// the file may end in a torn line, and nothing destructive may follow a
// step the journal did not record.
func (j *Journal) Append(step, phase string, data map[string]string) error {
	return j.append(Entry{Step: step, Phase: phase, Data: data})
}

// appendKey is Append with a key's record.
func (j *Journal) appendKey(step, phase string, data map[string]string, k *report.Key) error {
	return j.append(Entry{Step: step, Phase: phase, Data: data, Key: k})
}

// appendRetired is Append with the methods a retirement deleted.
func (j *Journal) appendRetired(step, phase string, retired []report.Retired) error {
	return j.append(Entry{Step: step, Phase: phase, Retired: retired})
}

func (j *Journal) append(e Entry) error {
	if j.broken != nil {
		return fmt.Errorf(
			"the journal stopped recording earlier (%w): the ceremony cannot go on; free the medium and resume",
			j.broken,
		)
	}
	e.Seq, e.Time = len(j.entries)+1, j.now().UTC()
	if n := len(j.entries); n > 0 {
		e.Prev = j.entries[n-1].Hash
	}
	e.Hash = entryHash(e)
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	line := append(b, '\n')
	n, err := j.f.Write(line)
	if err == nil && n != len(line) {
		err = io.ErrShortWrite
	}
	if err != nil {
		j.broken = j.undo(e, fmt.Errorf("write: %w", err))
		return j.broken
	}
	if err := j.f.Sync(); err != nil {
		j.broken = j.undo(e, fmt.Errorf("sync: %w", err))
		return j.broken
	}
	j.size += int64(len(line))
	j.entries = append(j.entries, e)
	return nil
}

// undo cuts a failed append back off the file, so that the journal on disk
// ends in its last whole line, and says what happened: the entry was not
// recorded, and whether the file could be cut back.
func (j *Journal) undo(e Entry, cause error) error {
	err := fmt.Errorf("the journal could not record %s %s (%w)", e.Step, e.Phase, cause)
	if terr := j.f.Truncate(j.size); terr != nil {
		return fmt.Errorf("%w; cutting the partial line back off failed too (%v): a resume shows and cuts it",
			err, terr)
	}
	if serr := j.f.Sync(); serr != nil {
		return fmt.Errorf("%w; syncing the journal cut back to its last whole line failed too (%v): "+
			"a resume shows and cuts any torn line", err, serr)
	}
	return fmt.Errorf("%w; the journal ends in its last whole line, entry %d", err, len(j.entries))
}

// recorded returns the journal so far.
func (j *Journal) recorded() []Entry { return append([]Entry(nil), j.entries...) }

// Close closes the file.
func (j *Journal) Close() error { return j.f.Close() }

// last returns the latest entry of a step, if any.
func (j *Journal) last(step string) (Entry, bool) {
	for i := len(j.entries) - 1; i >= 0; i-- {
		if j.entries[i].Step == step {
			return j.entries[i], true
		}
	}
	return Entry{}, false
}

// done reports whether a step completed, with its data.
func (j *Journal) done(step string) (map[string]string, bool) {
	e, ok := j.last(step)
	if ok && e.Phase == "done" {
		return e.Data, true
	}
	return nil, false
}

// Done reports whether a step completed, with its data (for the offline
// split's journal).
func (j *Journal) Done(step string) (map[string]string, bool) { return j.done(step) }

// doneEntry is done with the whole entry.
func (j *Journal) doneEntry(step string) (Entry, bool) {
	e, ok := j.last(step)
	return e, ok && e.Phase == "done"
}

// begun reports whether a step began and never completed (a crash, a yank).
func (j *Journal) begun(step string) bool {
	e, ok := j.last(step)
	return ok && (e.Phase == "begin" || e.Phase == "failed")
}

// OpenOrCreateJournal opens the journal at path to resume it when it
// exists (or resume is asked), or creates it.
func OpenOrCreateJournal(path string, resume bool) (*Journal, error) {
	if _, err := os.Stat(path); resume || err == nil {
		return openJournal(path, time.Now)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return CreateJournal(path, time.Now)
}

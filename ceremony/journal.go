package ceremony

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// Entry is one journal line. Data never holds a secret.
type Entry struct {
	Seq   int               `json:"seq"`
	Time  time.Time         `json:"time"`
	Step  string            `json:"step"`  // e.g. "key1/reset"
	Phase string            `json:"phase"` // begin, done, failed, note
	Data  map[string]string `json:"data,omitempty"`
	Prev  string            `json:"prev"` // hash of the previous line
	Hash  string            `json:"hash"` // SHA-256 of this line without its hash
}

// Journal is an append-only, fsync'd, hash-chained log of the ceremony.
type Journal struct {
	f       *os.File
	entries []Entry
	now     func() time.Time
}

// ErrJournalBroken is wrapped when a journal's chain does not hold.
var ErrJournalBroken = errors.New("the ceremony journal is damaged or was edited")

// CreateJournal starts a new journal; the file must not exist.
func CreateJournal(path string, now func() time.Time) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	return &Journal{f: f, now: now}, nil
}

// OpenJournal reads an existing journal, verifies its chain, and opens it
// for appending (resume).
func OpenJournal(path string, now func() time.Time) (*Journal, error) {
	entries, err := ReadJournal(path)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	return &Journal{f: f, entries: entries, now: now}, nil
}

// ReadJournal reads and verifies a journal. A torn last line (a crash in
// the middle of a write) is dropped: it was never acknowledged.
func ReadJournal(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var lines [][]byte
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	prev := ""
	for i, l := range lines {
		var e Entry
		if err := json.Unmarshal(l, &e); err != nil {
			if i == len(lines)-1 {
				break // torn final write
			}
			return nil, fmt.Errorf("%w: line %d: %v", ErrJournalBroken, i+1, err)
		}
		if e.Prev != prev || e.Seq != i+1 || e.Hash != entryHash(e) {
			return nil, fmt.Errorf("%w: line %d does not chain", ErrJournalBroken, i+1)
		}
		prev = e.Hash
		out = append(out, e)
	}
	return out, nil
}

func entryHash(e Entry) string {
	e.Hash = ""
	b, _ := json.Marshal(e)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Append writes one entry and fsyncs before returning.
func (j *Journal) Append(step, phase string, data map[string]string) error {
	e := Entry{Seq: len(j.entries) + 1, Time: j.now().UTC(), Step: step, Phase: phase, Data: data}
	if n := len(j.entries); n > 0 {
		e.Prev = j.entries[n-1].Hash
	}
	e.Hash = entryHash(e)
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("journal write: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal sync: %w", err)
	}
	j.entries = append(j.entries, e)
	return nil
}

// Entries returns the journal so far.
func (j *Journal) Entries() []Entry { return append([]Entry(nil), j.entries...) }

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

// begun reports whether a step began and never completed (a crash, a yank).
func (j *Journal) begun(step string) bool {
	e, ok := j.last(step)
	return ok && (e.Phase == "begin" || e.Phase == "failed")
}

package officer

import (
	"context"
	"errors"
)

// Instruction kinds the officers are asked to carry out.
const (
	Insert = "insert" // plug in key Slot (and nothing else)
	Replug = "replug" // unplug key Slot and plug it back in
	Remove = "remove" // unplug key Slot
	// RemoveOthers: unplug every key except key Slot.
	RemoveOthers = "remove-others"
)

// Instruction is something the officers must do before the tool goes on.
type Instruction struct {
	Kind string
	Slot int
	Text string
}

// Prompter is how the tool talks to the officers.
type Prompter interface {
	// Instruct shows an instruction and returns once it is done.
	Instruct(ctx context.Context, in Instruction) error
	// Confirm asks one officer, by name, to confirm an action; an error
	// (ErrAbandoned) means no.
	Confirm(ctx context.Context, officer, action string) error
	// PINHalf asks an officer for their half of key Slot's PIN, entered
	// twice and never shown; newPIN says whether it is being set now.
	PINHalf(ctx context.Context, slot int, officer string, newPIN bool) ([]byte, error)
	// Touch says key Slot waits for a touch.
	Touch(slot int)
	// Progress reports a step and what happened.
	Progress(step, detail string)
}

// ErrAbandoned is returned when an officer declines: the journal stays and
// the ceremony can be resumed.
var ErrAbandoned = errors.New("the ceremony was stopped by an officer; nothing recorded is lost")

// SplitPIN asks officer a, then officer b, for their halves of key slot's
// PIN and returns the PIN joined (a's half first). The halves are zeroed
// here; the caller zeroes the PIN once it is used.
func SplitPIN(ctx context.Context, p Prompter, slot int, a, b string, newPIN bool) ([]byte, error) {
	first, err := p.PINHalf(ctx, slot, a, newPIN)
	if err != nil {
		return nil, err
	}
	defer clear(first)
	second, err := p.PINHalf(ctx, slot, b, newPIN)
	if err != nil {
		return nil, err
	}
	defer clear(second)
	return append(append(make([]byte, 0, len(first)+len(second)), first...), second...), nil
}

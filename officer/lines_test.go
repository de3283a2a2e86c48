package officer

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// The line prompter, off a terminal: each half is typed twice; entries
// that differ are asked again and never returned; the joined PIN is A's
// half then B's; prompts never echo a half; end of input is an error.
func TestLinesSplitPIN(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	in := strings.NewReader("1234\n1243\n1234\n1234\n5678\n5678\n")
	p := Lines(in, &out, true)
	pin, err := SplitPIN(ctx, p, 1, "Alice", "Bob", true)
	if err != nil || string(pin) != "12345678" {
		t.Fatalf("SplitPIN = %q, %v", pin, err)
	}
	if !strings.Contains(out.String(), "Key 1 — Alice: the two entries differ") {
		t.Fatalf("a mismatch was not said:\n%s", out.String())
	}
	for _, half := range []string{"1234", "1243", "5678"} {
		if strings.Contains(out.String(), half) {
			t.Fatalf("the prompts show a half %q:\n%s", half, out.String())
		}
	}
	if _, err := SplitPIN(ctx, p, 2, "Alice", "Bob", true); err == nil {
		t.Fatal("no error at the end of input")
	}
}

// Without --yes an officer confirms by typing y; anything else, or the end
// of input, is ErrAbandoned.
func TestLinesConfirm(t *testing.T) {
	ctx := context.Background()
	p := Lines(strings.NewReader("y\nno\n"), new(bytes.Buffer), false)
	if err := p.Confirm(ctx, "Alice", "reset key 1"); err != nil {
		t.Fatalf("y refused: %v", err)
	}
	for i := 0; i < 2; i++ {
		if err := p.Confirm(ctx, "Alice", "reset key 1"); !errors.Is(err, ErrAbandoned) {
			t.Fatalf("answer %d: %v, want ErrAbandoned", i, err)
		}
	}
	var out bytes.Buffer
	if err := Lines(strings.NewReader(""), &out, true).Confirm(ctx, "Bob", "delete last year's key"); err != nil || !strings.Contains(out.String(), "Bob confirms (--yes)") {
		t.Fatalf("--yes: %v %q", err, out.String())
	}
}

// Without --yes an instruction ("insert key 1", "unplug key 1, plug it
// back in") waits for the officers' Enter before the tool goes on; the
// end of input is ErrAbandoned; with --yes it is only printed.
func TestLinesInstructWaitsForEnter(t *testing.T) {
	ctx := context.Background()
	in := strings.NewReader("\n")
	var out bytes.Buffer
	p := Lines(in, &out, false)
	ins := Instruction{Kind: Insert, Slot: 1, Text: "Officer A: insert key 1 now"}
	if err := p.Instruct(ctx, ins); err != nil || !strings.Contains(out.String(), "Press Enter when done") {
		t.Fatalf("first instruction: %v\n%s", err, out.String())
	}
	if in.Len() != 0 {
		t.Fatal("the Enter was not read")
	}
	if err := p.Instruct(ctx, ins); !errors.Is(err, ErrAbandoned) {
		t.Fatalf("no Enter left: %v, want ErrAbandoned", err)
	}
	out.Reset()
	err := Lines(strings.NewReader(""), &out, true).Instruct(ctx, ins)
	if err != nil || strings.Contains(out.String(), "Enter") {
		t.Fatalf("--yes: %v\n%s", err, out.String())
	}
}

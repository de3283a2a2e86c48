package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// A usage line breaks at spaces outside brackets, keeps a flag with its
// value, and continues further in.
func TestWrap(t *testing.T) {
	got := wrap("keyceremony x --out results.json [--a B] [--c D]", 30, "  ", "      ")
	if want := "  keyceremony x\n      --out results.json\n      [--a B] [--c D]"; got != want {
		t.Errorf("wrap: %q, want %q", got, want)
	}
	if got := wrap("a [b c d e f g h i j k l m n o p]", 10, "", "  "); got != "a\n  [b c d e f g h i j k l m n o p]" {
		t.Errorf("a bracket is never split: %q", got)
	}
}

// The exit codes: 0 ok and -h, 1 a finding or a refusal the App names
// (unless the command called it a usage error), 2 anything else, a usage
// error or a panic, which is a message, never a stack trace.
func TestRunExitCodes(t *testing.T) {
	refused := errors.New("the officers stopped")
	cmd := func(err error) func(context.Context, *Flags, []string, IO) error {
		return func(_ context.Context, fs *Flags, args []string, s IO) error {
			fs.Bool("flag", false, "a flag")
			if err := fs.NoArgs(args, s); err != nil {
				return err
			}
			return err
		}
	}
	app := App{Name: "prog", Header: "prog", Refused: []error{refused}, Commands: []Command{
		{Name: "ok", Run: cmd(nil)},
		{Name: "group find", Run: cmd(Finding("%d found", 3))},
		{Name: "group refuse", Run: cmd(refused)},
		{Name: "group usage", Run: cmd(UsageError(refused))},
		{Name: "boom", Run: func(context.Context, *Flags, []string, IO) error { panic("nil map") }},
	}}
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"ok"}, 0, ""},
		{[]string{"ok", "-h"}, 0, ""},
		{[]string{"group", "-h"}, 0, ""},
		{[]string{"group", "find"}, 1, "3 found"},
		{[]string{"group", "refuse"}, 1, "the officers stopped"},
		{[]string{"group", "usage"}, 2, "the officers stopped"},
		{[]string{"group"}, 2, "prog group refuse"},
		{[]string{"group", "bogus"}, 2, `unknown command "group bogus"`},
		{[]string{"ok", "extra"}, 2, "ok takes no arguments"},
		{[]string{"ok", "--nope"}, 2, "not defined"},
		{[]string{"boom"}, 2, "internal error (nil map)"},
		{[]string{"nope"}, 2, `unknown command "nope"`},
		{nil, 2, "Usage:"},
	} {
		var out, errOut bytes.Buffer
		code := app.Run(context.Background(), tc.args, IO{In: strings.NewReader(""), Out: &out, Err: &errOut})
		if code != tc.code || !strings.Contains(errOut.String(), tc.err) || strings.Contains(errOut.String(), "goroutine") {
			t.Errorf("%q: exit %d (want %d), stderr %q (want %q)", tc.args, code, tc.code, errOut.String(), tc.err)
		}
	}
}

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
	cmd := func(err error) func(*Flags) Run {
		return func(fs *Flags) Run {
			fs.Bool("flag", false, "a flag")
			return func(context.Context, string, IO) error { return err }
		}
	}
	var got string
	app := App{Name: "prog", Header: "prog", Refused: []error{refused}, Commands: []Command{
		{Name: "ok", Flags: cmd(nil)},
		{Name: "group find", Flags: cmd(Finding("%d found", 3))},
		{Name: "group refuse", Flags: cmd(refused)},
		{Name: "group usage", Flags: cmd(UsageError(refused))},
		{Name: "boom", Flags: func(*Flags) Run { return func(context.Context, string, IO) error { panic("nil map") } }},
		{Name: "need", Arg: "report", Flags: func(fs *Flags) Run {
			out := fs.String("out", "", "where the page goes")
			fs.String("pub", "", "the public key")
			fs.Var(new(Strings), "trust", "a trusted key")
			fs.Need("out", "trust")
			return func(_ context.Context, arg string, _ IO) error { got = arg + " " + *out; return nil }
		}},
	}}
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"ok"}, 0, ""},
		{[]string{"ok", "-h"}, 0, ""},
		{[]string{"completion", "bash"}, 0, ""}, // every App has it
		{[]string{"completion", "bash", "extra"}, 2, "completion bash takes no arguments"},
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
		// A command's positional argument and the flags it needs are
		// checked before it runs; each missing flag is named with what it is.
		{[]string{"need", "r.json", "--out", "p.pdf", "--trust", "k"}, 0, ""},
		{[]string{"need", "--trust", "k", "r.json"}, 2, "prog need: --out is required\n  --out: where the page goes\nusage: prog need"},
		{[]string{"need", "r.json"}, 2, "prog need: --out and --trust are required\n  --out: where the page goes\n  --trust: a trusted key\nusage:"},
		{[]string{"need", "--out", "", "--trust", "k", "r.json"}, 2, "--out is required"},
		{[]string{"need", "--out", "p", "--trust", "k"}, 2, "give exactly one report"},
		{[]string{"need", "--out", "p", "--trust", "k", "a", "b"}, 2, "give exactly one report"},
		{nil, 2, "Usage:"},
	} {
		var out, errOut bytes.Buffer
		code := app.Run(context.Background(), tc.args, IO{In: strings.NewReader(""), Out: &out, Err: &errOut})
		if code != tc.code || !strings.Contains(errOut.String(), tc.err) || strings.Contains(errOut.String(), "goroutine") {
			t.Errorf("%q: exit %d (want %d), stderr %q (want %q)", tc.args, code, tc.code, errOut.String(), tc.err)
		}
	}
	if got != "r.json p.pdf" {
		t.Errorf("need ran with %q, want its argument and --out", got)
	}
}

// -h marks the flags a command needs, and shows the rest as they are.
func TestHelpMarksRequiredFlags(t *testing.T) {
	app := App{Name: "prog", Commands: []Command{{Name: "x", Synopsis: "--out FILE [--pub FILE]", Flags: func(fs *Flags) Run {
		fs.String("out", "", "where the page goes")
		fs.String("pub", "", "the public key")
		fs.Need("out")
		return func(context.Context, string, IO) error { t.Fatal("-h ran the command"); return nil }
	}}}}
	var out bytes.Buffer
	if code := app.Run(context.Background(), []string{"x", "-h"}, IO{In: strings.NewReader(""), Out: &out, Err: &out}); code != 0 {
		t.Fatalf("-h: exit %d", code)
	}
	if h := out.String(); !strings.Contains(h, "where the page goes (required)") || strings.Contains(h, "the public key (required)") {
		t.Errorf("-h:\n%s", h)
	}
}

// CheckSynopses finds a synopsis that names a flag the command does not
// define, and a needed flag the synopsis shows as optional.
func TestCheckSynopses(t *testing.T) {
	define := func(fs *Flags) Run {
		fs.String("out", "", "where")
		fs.String("pub", "", "key")
		fs.Need("out")
		return nil
	}
	good := App{Name: "p", Commands: []Command{{Name: "x", Synopsis: "--out FILE [--pub KEY | --pub=K]", Flags: define}}}
	if err := good.CheckSynopses(); err != nil {
		t.Fatalf("a synopsis that agrees: %v", err)
	}
	bad := App{Name: "p", Commands: []Command{{Name: "x", Synopsis: "[--out FILE] [--nope N]", Flags: define}}}
	err := bad.CheckSynopses()
	if err == nil || !strings.Contains(err.Error(), "x: the synopsis names --nope") || !strings.Contains(err.Error(), "x: --out is required, but the synopsis shows it as optional") {
		t.Fatalf("a synopsis that disagrees: %v", err)
	}
}

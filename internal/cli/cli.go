package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// IO is where a command reads and writes.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
}

// Command is one command line the CLI takes: its words ("report verify"),
// the rest of its usage line, what it does, the one positional argument
// it takes (Arg names it, "report"; empty: none), and its flags. Flags
// defines them on fs and returns what runs once the App has parsed the
// command line, checked the argument and the flags fs.Need names, and
// answered -h.
type Command struct {
	Name, Synopsis, Summary string
	Arg                     string
	Flags                   func(fs *Flags) Run
}

// Run is a command with its flags parsed: arg is its positional argument
// ("" for a command that takes none).
type Run func(ctx context.Context, arg string, s IO) error

// App is a command line program: its name, the line above and the line
// below its overview, its commands in the order the overview shows them,
// and the errors that mean "refused" (exit 1) rather than "could not run".
type App struct {
	Name, Header, Footer string
	Commands             []Command
	Refused              []error
}

// Run executes one command line and returns the exit code: 0 success,
// 1 the command ran and found a problem or was refused, 2 it could not
// run. A panic is an error that says so, never a stack trace.
func (a App) Run(ctx context.Context, args []string, s IO) int {
	err := guard(func() error { return a.dispatch(ctx, args, s) })
	if errors.As(err, new(helpShown)) {
		return 0
	}
	if err == nil {
		return 0
	}
	switch c := a.find(args); {
	case c != nil:
		fmt.Fprintf(s.Err, "%s %s: %v\n", a.Name, c.Name, err)
	case len(args) > 0:
		fmt.Fprintf(s.Err, "%s %s: %v\n", a.Name, args[0], err)
	default:
		fmt.Fprintln(s.Err, err)
	}
	var code interface{ ExitCode() int }
	if errors.As(err, &code) {
		return code.ExitCode()
	}
	for _, r := range a.Refused {
		if errors.Is(err, r) {
			return 1
		}
	}
	return 2
}

// guard runs f and turns a panic into an error that says what happened,
// without a stack trace: no panic reaches an officer.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf(
				"internal error (%v): the step was stopped where it was; nothing recorded in the journal is lost",
				r,
			)
		}
	}()
	return f()
}

// dispatch runs the command whose words args begins with (the longest).
// Of a group of commands ("report"), -h lists them all.
func (a App) dispatch(ctx context.Context, args []string, s IO) error {
	if len(args) == 0 {
		return UsageError(errors.New(a.Overview()))
	}
	switch args[0] {
	case "help", "-h", "--help":
		_, err := io.WriteString(s.Out, a.Overview())
		return err
	case "--version", "-version":
		args = append([]string{"version"}, args[1:]...)
	}
	if best := a.find(args); best != nil {
		fs := newFlags(a.Name, best.Name, best.Synopsis)
		run := best.Flags(fs)
		arg, err := fs.parseFor(*best, args[len(strings.Fields(best.Name)):], s.Out)
		if err != nil {
			return err
		}
		return run(ctx, arg, s)
	}
	if group := a.list(args[0] + " "); group != "" {
		if len(args) > 1 && (args[1] == "-h" || args[1] == "--help" || args[1] == "help") {
			_, err := io.WriteString(s.Out, "usage:\n"+group)
			return err
		}
		if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
			return UsageError(
				fmt.Errorf("unknown command %q\nusage:\n%s", args[0]+" "+args[1], strings.TrimRight(group, "\n")),
			)
		}
		return UsageError(errors.New("usage:\n" + strings.TrimRight(group, "\n")))
	}
	fmt.Fprint(s.Err, a.Overview())
	return UsageError(fmt.Errorf("unknown command %q (the commands are listed above)", args[0]))
}

// find is the command whose words args begins with (the longest), or nil.
func (a App) find(args []string) *Command {
	var best *Command
	commands := a.commands()
	for i, c := range commands {
		n := len(strings.Fields(c.Name))
		if len(args) >= n && strings.Join(args[:n], " ") == c.Name &&
			(best == nil || n > len(strings.Fields(best.Name))) {
			best = &commands[i]
		}
	}
	return best
}

// commands is the App's own commands, then the one every App has:
// completion bash, which offers what -h documents and nothing else.
func (a App) commands() []Command {
	return append(slices.Clip(a.Commands), Command{Name: "completion bash", Summary: "print the bash completion script",
		Flags: func(*Flags) Run {
			return func(_ context.Context, _ string, s IO) error {
				_, err := io.WriteString(s.Out, a.BashCompletion())
				return err
			}
		}})
}

// Overview is the usage of the whole program.
func (a App) Overview() string {
	return a.Header + "\n\nUsage:\n" + a.list("") + "\n" + a.Footer + "\n"
}

// list lists the usage lines of the commands whose name begins with
// prefix, each followed by what it does.
func (a App) list(prefix string) string {
	var b strings.Builder
	for _, c := range a.commands() {
		if strings.HasPrefix(c.Name+" ", prefix) {
			fmt.Fprintf(
				&b,
				"%s\n%s\n",
				wrap(a.Name+" "+c.Name+" "+c.Synopsis, 78, "  ", "      "),
				wrap(c.Summary, 78, "    ", "    "),
			)
		}
	}
	return b.String()
}

// wrap writes text after indent, broken at spaces outside brackets so
// that its lines fit in width where they can (a flag stays with its
// value); continued lines start with more, one step further in.
func wrap(text string, width int, indent, more string) string {
	var words []string
	depth, start := 0, 0
	for i, r := range text + " " {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case r == ' ' && depth == 0:
			if w := text[start:i]; w != "" {
				if n := len(words); n > 0 && strings.HasPrefix(words[n-1], "--") &&
					!strings.ContainsAny(words[n-1], "= ") &&
					!strings.HasPrefix(w, "-") {
					words[n-1] += " " + w // --out DIR
				} else {
					words = append(words, w)
				}
			}
			start = i + 1
		}
	}
	var b strings.Builder
	b.WriteString(indent)
	col := len(indent)
	for i, w := range words {
		n := utf8.RuneCountInString(w)
		switch {
		case i > 0 && col+1+n > width:
			b.WriteString("\n" + more)
			col = len(more)
		case i > 0:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += n
	}
	return b.String()
}

package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// helpShown ends a command whose -h/--help printed its usage: exit 0.
type helpShown struct{}

func (helpShown) Error() string { return "" }
func (helpShown) ExitCode() int { return 0 }

// usageError is a command that could not run (bad flags, unreadable
// input): exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
func (usageError) ExitCode() int   { return 2 }

// UsageError marks err as input the command could not use: exit 2, even
// when err wraps an error the App counts as refused.
// A nil err stays nil.
func UsageError(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// finding is a command that ran and found a problem: exit 1.
type finding struct{ msg string }

func (e finding) Error() string { return e.msg }
func (finding) ExitCode() int   { return 1 }

// Finding is a command that ran and found a problem (exit 1); msg says
// what, in brief.
func Finding(format string, a ...any) error { return finding{fmt.Sprintf(format, a...)} }

// Flags is one command's flag set, its usage line and the flags it needs.
type Flags struct {
	*flag.FlagSet
	usage    string // e.g. "keyceremony report verify [--pub FILE] REPORT.json"
	required []string
}

// newFlags returns the flag set of a program's command with its synopsis.
func newFlags(program, name, synopsis string) *Flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse errors are returned, help is printed by Parse
	fs.Usage = func() {}
	return &Flags{FlagSet: fs, usage: strings.TrimSpace(program + " " + name + " " + synopsis)}
}

// parse reads args with flags and positional arguments in any order
// ("report verify report.json --rehearsal" works) and returns the
// positional ones. -h or --help prints the usage of this command alone to
// out and ends the command with exit 0.
func (f *Flags) parse(args []string, out io.Writer) ([]string, error) {
	var positional []string
	for {
		if err := f.FlagSet.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.printUsage(out)
				return nil, helpShown{}
			}
			return nil, f.UsageError("%v", err)
		}
		rest := f.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
}

// parseFor parses the command line of c: its flags, then the one
// positional argument c.Arg names (or none), then the flags Need named
// must have a value. Every missing flag is named, with what it is for.
func (f *Flags) parseFor(c Command, args []string, out io.Writer) (string, error) {
	pos, err := f.parse(args, out)
	switch {
	case err != nil:
		return "", err
	case c.Arg == "" && len(pos) > 0:
		return "", f.UsageError("%s takes no arguments, got %q", f.Name(), pos[0])
	case c.Arg != "" && len(pos) != 1:
		return "", f.UsageError("give exactly one %s", c.Arg)
	}
	var missing, what []string
	for _, name := range f.required {
		if fl := f.Lookup(name); fl.Value.String() == "" {
			missing = append(missing, "--"+name)
			what = append(what, wrap("--"+name+": "+strings.TrimSuffix(fl.Usage, requiredMark), 78, "  ", "      "))
		}
	}
	switch len(missing) {
	case 0:
	case 1:
		return "", f.UsageError("%s is required\n%s", missing[0], what[0])
	default:
		return "", f.UsageError(
			"%s and %s are required\n%s",
			strings.Join(missing[:len(missing)-1], ", "),
			missing[len(missing)-1],
			strings.Join(what, "\n"),
		)
	}
	if c.Arg == "" {
		return "", nil
	}
	return pos[0], nil
}

// requiredMark ends the -h line of a flag Need names.
const requiredMark = " (required)"

// Need says the command cannot run without these flags (defined on f
// already): the App refuses a command line that leaves one empty, naming
// it, and -h marks them.
func (f *Flags) Need(names ...string) {
	for _, name := range names {
		fl := f.Lookup(name)
		if fl == nil {
			panic("cli: Need of undefined flag --" + name) // a programming error, caught by every test of the command
		}
		fl.Usage += requiredMark
		f.required = append(f.required, name)
	}
}

// UsageError is a usage error (exit 2) that repeats the command's usage line.
func (f *Flags) UsageError(format string, a ...any) error {
	return usageError{fmt.Errorf("%s\n%s", fmt.Sprintf(format, a...), wrap("usage: "+f.usage, 78, "", "      "))}
}

func (f *Flags) printUsage(out io.Writer) {
	fmt.Fprintln(out, wrap("usage: "+f.usage, 78, "", "      "))
	has := false
	f.VisitAll(func(*flag.Flag) { has = true })
	if has {
		fmt.Fprintln(out, "\nflags:")
		f.SetOutput(out)
		f.PrintDefaults()
		f.SetOutput(io.Discard)
	}
}

// Strings collects a repeated string flag.
type Strings []string

// String joins the values with commas.
func (m *Strings) String() string { return strings.Join(*m, ",") }

// Set adds one value.
func (m *Strings) Set(v string) error { *m = append(*m, v); return nil }

// Show writes v as indented JSON (--json), or else as v's own text.
func Show(out io.Writer, asJSON bool, v interface{ WriteText(io.Writer) error }) error {
	if !asJSON {
		return v.WriteText(out)
	}
	return WriteJSON(out, v)
}

// WriteJSON writes v as indented JSON.
func WriteJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

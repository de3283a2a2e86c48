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
func UsageError(err error) error { return usageError{err} }

// finding is a command that ran and found a problem: exit 1.
type finding struct{ msg string }

func (e finding) Error() string { return e.msg }
func (finding) ExitCode() int   { return 1 }

// Finding is a command that ran and found a problem (exit 1); msg says
// what, in brief.
func Finding(format string, a ...any) error { return finding{fmt.Sprintf(format, a...)} }

// Flags is one command's flag set and its usage line.
type Flags struct {
	*flag.FlagSet
	usage string // e.g. "keyceremony report verify [--pub FILE] REPORT.json"
}

// newFlags returns the flag set of a program's command with its synopsis.
func newFlags(program, name, synopsis string) *Flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse errors are returned, help is printed by Parse
	fs.Usage = func() {}
	return &Flags{FlagSet: fs, usage: strings.TrimSpace(program + " " + name + " " + synopsis)}
}

// Parse reads args with flags and positional arguments in any order
// ("report verify report.json --rehearsal" works) and returns the
// positional ones. -h or --help prints the usage of this command alone to
// out and ends the command with exit 0.
func (f *Flags) Parse(args []string, out io.Writer) ([]string, error) {
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

// NoArgs parses the args of a command that takes flags only.
func (f *Flags) NoArgs(args []string, s IO) error {
	pos, err := f.Parse(args, s.Out)
	if err == nil && len(pos) > 0 {
		err = f.UsageError("%s takes no arguments, got %q", f.Name(), pos[0])
	}
	return err
}

// One parses the args of a command that takes exactly one argument (what
// names it in the error) and returns it.
func (f *Flags) One(args []string, s IO, what string) (string, error) {
	pos, err := f.Parse(args, s.Out)
	if err == nil && len(pos) != 1 {
		err = f.UsageError("give exactly one %s", what)
	}
	if err != nil {
		return "", err
	}
	return pos[0], nil
}

// UsageError is a usage error (exit 2) that repeats the command's usage line.
func (f *Flags) UsageError(format string, a ...any) error {
	return usageError{fmt.Errorf("%s\nusage: %s", fmt.Sprintf(format, a...), f.usage)}
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

// WriteJSON writes v as indented JSON.
func WriteJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

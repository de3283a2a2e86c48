package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// helpShown ends a command whose -h/--help printed its usage: exit 0.
type helpShown struct{}

func (helpShown) Error() string { return "" }
func (helpShown) ExitCode() int { return 0 }

// flags is one command's flag set and its usage line.
type flags struct {
	*flag.FlagSet
	synopsis string // e.g. "report verify [--pub FILE] REPORT.json"
}

// newFlags returns the flag set of a command whose usage line is synopsis.
func newFlags(name, synopsis string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse errors are returned, help is printed by parse
	fs.Usage = func() {}
	return &flags{FlagSet: fs, synopsis: synopsis}
}

// parse reads args with flags and positional arguments in any order
// ("report verify report.json --rehearsal" works). -h or --help prints the
// usage of this command alone to out and returns helpShown.
func (f *flags) parse(args []string, out io.Writer) ([]string, error) {
	var positional []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.printUsage(out)
				return nil, helpShown{}
			}
			return nil, f.usageError("%v", err)
		}
		rest := f.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
}

// usageError is a usage error that repeats the command's usage line.
func (f *flags) usageError(format string, a ...any) error {
	return usageError{fmt.Errorf("%s\nusage: keyceremony %s", fmt.Sprintf(format, a...), f.synopsis)}
}

func (f *flags) printUsage(out io.Writer) {
	fmt.Fprintln(out, wrap("usage: keyceremony "+f.synopsis, 78, "", "      "))
	has := false
	f.VisitAll(func(*flag.Flag) { has = true })
	if has {
		fmt.Fprintln(out, "\nflags:")
		f.SetOutput(out)
		f.PrintDefaults()
		f.SetOutput(io.Discard)
	}
}

// noArgs parses args of a command that takes flags only.
func (f *flags) noArgs(args []string, s stdio) error {
	pos, err := f.parse(args, s.out)
	if err == nil && len(pos) > 0 {
		err = f.usageError("%s takes no arguments, got %q", f.Name(), pos[0])
	}
	return err
}

// one parses args of a command that takes exactly one argument (what
// names it in the error) and returns it.
func (f *flags) one(args []string, s stdio, what string) (string, error) {
	pos, err := f.parse(args, s.out)
	if err == nil && len(pos) != 1 {
		err = f.usageError("give exactly one %s", what)
	}
	if err != nil {
		return "", err
	}
	return pos[0], nil
}

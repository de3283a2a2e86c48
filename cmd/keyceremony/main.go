package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/keyceremony/keyceremony/officer"
)

// stdio is where a command reads and writes.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// command is one command line the CLI takes: its words ("report verify"),
// the rest of its usage line, what it does, and how it runs. The overview,
// each group's usage, -h and the bash completion are all made from the
// list of commands, so none of them can tell of a command or flag that is
// not there.
type command struct {
	name, synopsis, summary string
	run                     func(ctx context.Context, fs *flags, args []string, s stdio) error
}

// commands lists the CLI's commands in the order the overview shows them.
func commands() []command {
	return []command{
		{"rehearse", "[--yes] [--out DIR] [--generated-pin] [--accounts N]",
			"the whole ceremony on two virtual keys and an emulated tenant (TUI on a terminal, --yes headless)", rehearse(false)},
		{"rehearse health", "--yes [--out DIR] [--generated-pin] [--accounts N]", "a rehearsal ceremony, then its health check", rehearse(true)},
		{"ceremony", "--config FILE [--resume JOURNAL] [--backend native|libfido2]",
			"the real ceremony: real keys, Entra ID, TPM-signed report", cmdCeremony},
		{"health", "--config FILE --report LAST/report.json [--report …] [--pub report.pub] [--yes] [--backend native|libfido2]",
			"re-verify the keys and audit the account(s), read only: exit 0 all pass, 1 findings, 2 could not run", cmdHealth},
		{"devices", "[--json] [--device ADDRESS]…", "list FIDO authenticators", cmdDevices},
		{"info", "--device ADDRESS [--json]", "show one authenticator's getInfo", cmdInfo},
		{"attest verify", "[--policy FILE] [--mds FILE] [--rehearsal] [--json] [--rp-id ID] [--origin URL] [--firmware X.Y.Z] REGISTRATION.json",
			"judge a registration: exit 0 allowed, 1 refused, 2 unreadable", cmdAttestVerify},
		{"policy check", "FILE|default", `validate a policy and show what it allows ("default": the embedded one)`, cmdPolicyCheck},
		{"policy show", "", "print the embedded policy as it is", cmdPolicyShow},
		{"policy roots", "--out DIR", "write the embedded policy's roots as PEM files", cmdPolicyRoots},
		{"report verify", "[--pub report.pub] [--previous OLD.json] [--rehearsal] REPORT.json", "verify a signed report (and its chain)", cmdReportVerify},
		{"report show", "REPORT.json", "show a report's page, unverified", cmdReportShow},
		{"report print", "REPORT.json --out report.pdf|report.txt", "write a report's printable page", cmdReportPrint},
		{"report key", "[--tpm /dev/tpmrm0 | --software-key FILE] [--out DIR]", "show (and write) the workstation's report key", cmdReportKey},
		{"history", "DIR --trust SHA256:… [--trust …] [--config FILE] [--json] [--pdf FILE] [--rehearsal]",
			"verify a safe's reports and chains, per account timeline and what is due: exit 0 all well, 1 overdue/finding, 2 broken", cmdHistory},
		{"offline export", "--user UPN --keys 2 --out options.json [--timeout-minutes 1440] [--tpm PATH | --software-key FILE] [sign-in flags]",
			"connected machine: fetch the creation options and sign them", cmdOfflineExport},
		{"offline create", "--options options.json --trust SHA256:… --out results.json [--device D1 --device D2] [--reset=false] [--min-pin-length N] [--yes] " +
			"[--generated-pin [--print-command \"lp -d safe\"]] [--policy FILE] [--mds FILE] [--rehearsal] [--tpm PATH | --software-key FILE]",
			"workstation: reset each key, set its PIN from two halves, create and judge its credential; journaled beside results.json and resumed from it", cmdOfflineCreate},
		{"offline register", "--options options.json --results results.json --trust SHA256:… [--tpm PATH | --software-key FILE] [sign-in flags]",
			"connected machine: register the workstation's credentials", cmdOfflineRegister},
		{"config init", "[--out ceremony.jsonc]", "write a complete, commented example ceremony config", cmdConfigInit},
		{"config check", "FILE", "check a config the day before: nothing is signed in, no key or TPM opened", cmdConfigCheck},
		{"config udev", "", "print the udev rule that lets the officers open the keys", cmdConfigUdev},
		{"simkey serve", "--socket PATH [--state FILE] [--touch-delay 300ms] [--aaguid UUID] [--reset-window 10s]",
			"serve a virtual key on a SOCK_SEQPACKET socket", cmdSimkeyServe},
		{"graph-emulator", "[--listen 127.0.0.1:8443] [--state FILE] [--dir DIR]", "serve the local Graph emulator (TEST tenant)", cmdGraphEmulator},
		{"version", "[--json]", "print version, revision, Go, binary SHA-256 (and modules)", cmdVersion},
		{"completion bash", "", "print the bash completion script", cmdCompletion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit code: 0 success,
// 1 the command ran and found a problem, 2 it could not run.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	_, err := guard(func() (struct{}, error) { return struct{}{}, dispatch(ctx, args, stdio{stdin, stdout, stderr}) })
	if errors.As(err, new(helpShown)) {
		return 0
	}
	if err != nil {
		if len(args) > 0 {
			fmt.Fprintf(stderr, "keyceremony %s: %v\n", args[0], err)
		} else {
			fmt.Fprintln(stderr, err)
		}
		var code exitCoder
		switch {
		case errors.As(err, &code):
			return code.ExitCode()
		case errors.Is(err, officer.ErrAbandoned):
			return 1 // the officers stopped it: refused, not broken
		}
		return 2
	}
	return 0
}

// dispatch runs the command whose words args begins with (the longest).
// Of a group of commands ("report"), -h lists them all.
func dispatch(ctx context.Context, args []string, s stdio) error {
	all := commands()
	if len(args) == 0 {
		return usageError{errors.New(overview(all))}
	}
	switch args[0] {
	case "help", "-h", "--help":
		_, err := io.WriteString(s.out, overview(all))
		return err
	case "--version", "-version":
		args = append([]string{"version"}, args[1:]...)
	}
	var best *command
	for i, c := range all {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name && (best == nil || len(words) > len(strings.Fields(best.name))) {
			best = &all[i]
		}
	}
	if best != nil {
		return best.run(ctx, newFlags(best.name, strings.TrimSpace(best.name+" "+best.synopsis)), args[len(strings.Fields(best.name)):], s)
	}
	if group := listUsage(all, args[0]+" "); group != "" {
		if len(args) > 1 && (args[1] == "-h" || args[1] == "--help" || args[1] == "help") {
			_, err := io.WriteString(s.out, "usage:\n"+group)
			return err
		}
		return usageError{errors.New("usage:\n" + strings.TrimRight(group, "\n"))}
	}
	fmt.Fprint(s.err, overview(all))
	return usageError{fmt.Errorf("unknown command %q (the commands are listed above)", args[0])}
}

// overview is the usage of the whole CLI.
func overview(all []command) string {
	return "keyceremony — FIDO2 key ceremony for Entra ID break-glass accounts\n\nUsage:\n" + listUsage(all, "") +
		"\nDevice addresses: hidraw:/dev/hidrawN, or simkey:/path/to.sock.\n"
}

// listUsage lists the usage lines of the commands whose name begins with
// prefix, each followed by what it does.
func listUsage(all []command, prefix string) string {
	var b strings.Builder
	for _, c := range all {
		if strings.HasPrefix(c.name+" ", prefix) {
			fmt.Fprintf(&b, "%s\n%s\n", wrap("keyceremony "+c.name+" "+c.synopsis, 78, "  ", "      "), wrap(c.summary, 78, "    ", "    "))
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
				if n := len(words); n > 0 && strings.HasPrefix(words[n-1], "--") && !strings.ContainsAny(words[n-1], "= ") && !strings.HasPrefix(w, "-") {
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

// exitCoder lets a command choose its exit code.
type exitCoder interface{ ExitCode() int }

// findingError is a command that ran and found a problem: exit code 1.
type findingError struct{ msg string }

func (e findingError) Error() string { return e.msg }
func (e findingError) ExitCode() int { return 1 }

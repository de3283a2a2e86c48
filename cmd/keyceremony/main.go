package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/keyceremony/keyceremony/officer"
)

const usage = `keyceremony — FIDO2 key ceremony for Entra ID break-glass accounts

Usage:
  keyceremony rehearse [--yes] [--out DIR] [--generated-pin] [--accounts N]
                                             the whole ceremony on two virtual keys and an emulated
                                             tenant (TUI on a terminal, --yes headless)
  keyceremony ceremony --config FILE [--resume JOURNAL]
                                             the real ceremony: real keys, Entra ID, TPM-signed report
  keyceremony rehearse health --yes [--out DIR] [--accounts N]
                                             a rehearsal ceremony, then its health check
  keyceremony health --config FILE --report LAST/report.json [--report …] [--pub report.pub] [--yes]
                                             re-verify the keys and audit the account(s) (read only):
                                             exit 0 all pass, 1 findings, 2 could not run
  keyceremony devices [--json] [--device D]  list FIDO authenticators
  keyceremony info --device D [--json]       show one authenticator's getInfo
  keyceremony simkey serve --socket PATH [--state FILE] [--touch-delay D]
                                             serve a virtual key on a SOCK_SEQPACKET socket
  keyceremony attest verify [--policy FILE] [--mds FILE] [--rehearsal] [--json]
                            [--rp-id ID] [--origin URL] [--firmware X.Y.Z] REGISTRATION.json
                                             judge a registration: exit 0 allowed, 1 refused, 2 unreadable
  keyceremony policy check FILE|default      validate a policy and show what it allows
  keyceremony report verify [--pub report.pub] [--previous OLD.json] [--rehearsal] REPORT.json
  keyceremony report show REPORT.json
  keyceremony report print REPORT.json --out report.pdf|report.txt
  keyceremony report key [--tpm /dev/tpmrm0 | --software-key FILE] [--out DIR]
  keyceremony graph-emulator [--listen 127.0.0.1:8443] [--state FILE] [--dir DIR]
                                             serve the local Graph emulator (TEST tenant)
  keyceremony offline export|create|register …
                                             the offline split (see keyceremony offline)
  keyceremony history DIR --trust SHA256:… [--config FILE] [--json] [--pdf FILE] [--rehearsal]
                                             verify a safe's reports and chains, per account timeline and
                                             what is due: exit 0 all well, 1 overdue/finding, 2 broken
  keyceremony config init [--out FILE]       write a complete, commented example ceremony config
  keyceremony config check FILE              check a config the day before (no sign-in, no key, no TPM)
  keyceremony config udev                    print the udev rule that lets the officers open the keys
  keyceremony policy show | roots --out DIR  print the embedded policy / export its roots
  keyceremony version [--json]               print version, revision, Go, binary SHA-256 (and modules)
  keyceremony completion bash                print the bash completion script

Device addresses: hidraw:/dev/hidrawN, or simkey:/path/to.sock.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit code: 0 success,
// 1 the command ran and found a problem, 2 it could not run.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	_, err := guard(func() (struct{}, error) { return struct{}{}, dispatch(ctx, args, stdin, stdout, stderr) })
	if errors.As(err, new(helpShown)) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "keyceremony %s: %v\n", args[0], err)
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

// dispatch runs the subcommand args[0].
func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var err error
	switch args[0] {
	case "rehearse":
		err = cmdRehearse(ctx, args[1:], stdout)
	case "ceremony":
		err = cmdCeremony(ctx, args[1:], stdout, stderr)
	case "health":
		err = cmdHealth(ctx, args[1:], stdin, stdout, stderr)
	case "devices":
		err = cmdDevices(ctx, args[1:], stdout)
	case "info":
		err = cmdInfo(ctx, args[1:], stdout)
	case "simkey":
		err = cmdSimkey(ctx, args[1:], stdout, stderr)
	case "attest":
		err = cmdAttest(ctx, args[1:], stdout)
	case "policy":
		err = cmdPolicy(ctx, args[1:], stdout)
	case "report":
		err = cmdReport(ctx, args[1:], stdout)
	case "graph-emulator":
		err = cmdGraphEmulator(ctx, args[1:], stdout)
	case "config":
		err = cmdConfig(args[1:], stdout)
	case "offline":
		err = cmdOffline(ctx, args[1:], stdin, stdout, stderr)
	case "version", "--version", "-version":
		err = cmdVersion(args[1:], stdout)
	case "history":
		err = cmdHistory(args[1:], stdout)
	case "completion":
		err = cmdCompletion(ctx, args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Errorf("unknown command %q (the commands are listed above)", args[0])}
	}
	return err
}

// exitCoder lets a command choose its exit code.
type exitCoder interface{ ExitCode() int }

// findingError is a command that ran and found a problem: exit code 1.
type findingError struct{ msg string }

func (e findingError) Error() string { return e.msg }
func (e findingError) ExitCode() int { return 1 }

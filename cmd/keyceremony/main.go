package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/keyceremony/keyceremony/internal/cli"
	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
	"github.com/keyceremony/keyceremony/officer"
)

// commands lists the CLI's commands in the order the overview shows them.
func commands() []cli.Command {
	return []cli.Command{
		cmd("rehearse", "[--yes] [--out DIR] [--generated-pin] [--accounts N] [--tenant FILE]",
			"the whole ceremony on two virtual keys and an emulated tenant (TUI on a terminal, --yes headless)",
			rehearsal.Command(false, tool)),
		cmd("rehearse health", "[--yes] [--out DIR] [--generated-pin] [--accounts N] [--tenant FILE]",
			"a rehearsal ceremony, then its health check (its own screen on a terminal)",
			rehearsal.Command(true, tool)),
		cmd("ceremony", "--config FILE [--resume JOURNAL] [--backend native|libfido2]",
			"the real ceremony: real keys, Entra ID, TPM-signed report", cmdCeremony),
		cmd("health", "--config FILE --report LAST/report.json [--report …] [--pub report.pub] [--yes] "+
			"[--backend native|libfido2]",
			"re-verify the keys and audit the account(s), read only: exit 0 all pass, 1 findings, 2 could not run",
			cmdHealth),
		cmd("monitor setup", "--config FILE [--dry-run]",
			"create the alert on every sign-in of the accounts (both officers confirm)", cmdMonitorSetup),
		cmd("devices", "[--json] [--device ADDRESS]…", "list FIDO authenticators", cmdDevices),
		cmd("info", "--device ADDRESS [--json]", "show one authenticator's getInfo", cmdInfo),
		cmdArg("attest verify", "registration file", "[--policy FILE] [--mds FILE] [--rehearsal] [--json] "+
			"[--rp-id ID] [--origin URL] [--firmware X.Y.Z] REGISTRATION.json",
			"judge a registration: exit 0 allowed, 1 refused, 2 unreadable", cmdAttestVerify),
		cmdArg("policy check", `policy file, or "default"`, "FILE|default",
			`validate a policy and show what it allows ("default": the embedded one)`, cmdPolicyCheck),
		cmd("policy show", "", "print the embedded policy as it is", cmdPolicyShow),
		cmd("policy roots", "--out DIR", "write the embedded policy's roots as PEM files", cmdPolicyRoots),
		cmdArg("report verify", "report", "[--pub report.pub] [--previous OLD.json] [--rehearsal] REPORT.json",
			"verify a signed report (and its chain)", cmdReportVerify),
		cmdArg("report show", "report", "REPORT.json", "show a report's page, unverified", cmdReportShow),
		cmdArg("report print", "report", "REPORT.json --out report.pdf|report.txt", "write a report's printable page",
			cmdReportPrint),
		cmd("report key", "[--tpm /dev/tpmrm0 | --software-key FILE] [--out DIR]",
			"show (and write) the workstation's report key", cmdReportKey),
		cmdArg("history", "folder: the one that came out of the safe",
			"DIR --trust SHA256:… [--trust …] [--config FILE] [--json] [--pdf FILE] [--rehearsal]",
			"verify a safe's reports and chains, per account timeline and what is due: "+
				"exit 0 all well, 1 overdue/finding, 2 broken", cmdHistory),
		cmd("offline export", "--user UPN --keys 2 --out options.json [--timeout-minutes 1440] "+
			"[--tpm PATH | --software-key FILE] [sign-in flags]",
			"connected machine: fetch the creation options and sign them", cmdOfflineExport),
		cmd("offline create", "--options options.json --trust SHA256:… --out results.json [--device D1 --device D2] "+
			"[--reset=false] [--min-pin-length N] [--yes] [--generated-pin [--print-command \"lp -d safe\"]] "+
			"[--policy FILE] [--mds FILE] [--rehearsal] [--tpm PATH | --software-key FILE]",
			"workstation: reset each key, set its PIN from two halves, create and judge its credential; "+
				"journaled beside results.json and resumed from it", cmdOfflineCreate),
		cmd("offline register", "--options options.json --results results.json --trust SHA256:… "+
			"[--tpm PATH | --software-key FILE] [sign-in flags]",
			"connected machine: register the workstation's credentials", cmdOfflineRegister),
		cmd("config init", "[--out ceremony.jsonc]", "write a complete, commented example ceremony config",
			cmdConfigInit),
		cmdArg("config check", "config file to check", "FILE",
			"check a config the day before: nothing is signed in, no key or TPM opened", cmdConfigCheck),
		cmd("config udev", "", "print the udev rule that lets the officers open the keys", cmdConfigUdev),
		cmd("simkey serve", "--socket PATH [--state FILE] [--touch-delay 300ms] [--aaguid UUID] [--reset-window 10s] "+
			"[--ctap22]", "serve a virtual key on a SOCK_SEQPACKET socket", rehearsal.SimkeyServe),
		cmd("graph-emulator", "[--listen 127.0.0.1:8443] [--state FILE] [--dir DIR] [--tenant FILE]",
			"serve the local Graph emulator (TEST tenant)", rehearsal.GraphEmulator),
		cmd("tenant export", "--user UPN [--user …] --out tenant.json [--days 30] [sign-in flags]",
			"read the tenant as the health check does, read only, and write it as a tenant file "+
				"(rehearse --tenant FILE)",
			cmdTenantExport),
		cmd("version", "[--json]", "print version, revision, Go, binary SHA-256 (and modules)", cmdVersion),
	}
}

// cmd is one command of the list that takes flags only.
func cmd(name, synopsis, summary string, flags func(*cli.Flags) cli.Run) cli.Command {
	return cli.Command{Name: name, Synopsis: synopsis, Summary: summary, Flags: flags}
}

// cmdArg is one command of the list that takes one argument: arg says what.
func cmdArg(name, arg, synopsis, summary string, flags func(*cli.Flags) cli.Run) cli.Command {
	return cli.Command{Name: name, Arg: arg, Synopsis: synopsis, Summary: summary, Flags: flags}
}

// app is keyceremony's command line.
func app() cli.App {
	return cli.App{Name: "keyceremony", Header: "keyceremony — FIDO2 key ceremony for Entra ID break-glass accounts",
		Footer: "Device addresses: hidraw:/dev/hidrawN, or simkey:/path/to.sock.", Commands: commands(),
		Refused: []error{officer.ErrAbandoned}} // the officers stopped it: refused, not broken
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit code: 0 success,
// 1 the command ran and found a problem, 2 it could not run.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return app().Run(ctx, args, cli.IO{In: stdin, Out: stdout, Err: stderr})
}

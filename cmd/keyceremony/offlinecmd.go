package main

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/envelope"
	"github.com/keyceremony/keyceremony/internal/cli"
	"github.com/keyceremony/keyceremony/officer"
	"github.com/keyceremony/keyceremony/offline"
)

func cmdOfflineExport(fs *cli.Flags) cli.Run {
	openSigner := signerFlags(fs, "sign with this software key instead of a TPM")
	upn := fs.String("user", "", "the break-glass account (UPN or object ID)")
	keys := fs.Int("keys", 2, "number of keys")
	outPath := fs.String("out", "", "the options file to write")
	timeout := fs.Int("timeout-minutes", 1440, "challenge lifetime, 5 to 43200 minutes (beta API)")
	g := cli.GraphFlags(fs)
	fs.Need("user", "out")
	return func(ctx context.Context, _ string, s cli.IO) error {
		signer, closeSigner, err := openSigner(s.Err)
		if err != nil {
			return err
		}
		defer closeSigner()
		connect := func(ctx context.Context) (*enroll.Client, error) { return g.SignIn(ctx, true, s.Err) }
		return offline.Export(ctx, connect, g.Tenant, *upn, *keys, *timeout, *outPath, signer, s.Out)
	}
}

func cmdOfflineCreate(fs *cli.Flags) cli.Run {
	openSigner := signerFlags(fs, "sign with this software key instead of a TPM")
	optsPath := fs.String("options", "", "the options file the connected machine wrote")
	trust := fs.String("trust", "", "SHA256 fingerprint of the connected machine's key (from its screen or paper)")
	outPath := fs.String("out", "", "the results file to write")
	verifier, isRehearsal := verifierFlags(fs)
	officerA := fs.String("officer-a", "Officer A", "name of the officer holding PIN half A")
	officerB := fs.String("officer-b", "Officer B", "name of the officer holding PIN half B")
	var devices cli.Strings
	fs.Var(&devices, "device", "key address, once per key in slot order "+
		"(default: the officers plug each key in alone, found through hidraw)")
	reset := fs.Bool("reset", true,
		"reset each key first (in its power-up window), then set its PIN from the officers' halves")
	minPIN := fs.Int("min-pin-length", 0, "minimum PIN length to apply to each key (and to ask the officers for)")
	yes := fs.Bool("yes", false, "take confirmations as given (headless); otherwise each officer types y")
	generated := fs.Bool("generated-pin", false,
		"generate each PIN and print each half on its own page for its own envelope, instead of typed halves")
	printCommand := fs.String("print-command", "lp",
		"the command that prints a generated half's page from its standard input "+
			"(with --rehearsal: pages go to OUT's folder, envelopes/)")
	fs.Need("options", "trust", "out")
	return func(ctx context.Context, _ string, s cli.IO) error {
		signer, closeSigner, err := openSigner(s.Err)
		if err != nil {
			return err
		}
		defer closeSigner()
		vf, err := verifier()
		if err != nil {
			return cli.UsageError(err)
		}
		print := envelope.Command(strings.Fields(*printCommand))
		if *isRehearsal {
			print = envelope.Folder(filepath.Join(filepath.Dir(*outPath), "envelopes"))
		}
		return offline.Create(ctx, *optsPath, *trust, *outPath, vf, offline.Workstation{
			Devices: devices, Reset: *reset, MinPINLength: *minPIN,
			OfficerA: *officerA, OfficerB: *officerB, GeneratedPIN: *generated, PrintHalf: print,
			Rehearsal: *isRehearsal,
			Officers:  officer.Lines(s.In, s.Err, *yes)}, signer, s.Out, s.Err)
	}
}

func cmdOfflineRegister(fs *cli.Flags) cli.Run {
	openSigner := signerFlags(fs, "sign with this software key instead of a TPM")
	optsPath := fs.String("options", "", "the options file this machine wrote")
	resPath := fs.String("results", "", "the results file the workstation wrote")
	trust := fs.String("trust", "", "SHA256 fingerprint of the workstation's key (from its screen or paper)")
	verifier, isRehearsal := verifierFlags(fs) // this machine judges every credential itself
	g := cli.GraphFlags(fs)
	fs.Need("options", "results", "trust")
	return func(ctx context.Context, _ string, s cli.IO) error {
		signer, closeSigner, err := openSigner(s.Err)
		if err != nil {
			return err
		}
		defer closeSigner()
		vf, err := verifier()
		if err != nil {
			return cli.UsageError(err)
		}
		connect := func(ctx context.Context) (*enroll.Client, error) { return g.SignIn(ctx, true, s.Err) }
		return offline.Register(ctx, *optsPath, *resPath, *trust, vf, *isRehearsal, signer, connect, s.Out)
	}
}

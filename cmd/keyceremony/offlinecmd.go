package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/envelope"
	"github.com/keyceremony/keyceremony/officer"
	"github.com/keyceremony/keyceremony/offline"
	"github.com/keyceremony/keyceremony/workstation"
)

const offlineUsage = `usage:
  keyceremony offline export --user UPN --keys 2 --out options.json [--timeout-minutes 1440]
                             [--tpm PATH | --software-key FILE] [sign-in flags]     (connected machine)
  keyceremony offline create --options options.json --trust SHA256:… --out results.json
                             [--device D1 --device D2] [--reset=false] [--min-pin-length N] [--yes]
                             [--generated-pin [--print-command "lp -d safe"]]
                             [--policy FILE] [--mds FILE] [--rehearsal]
                             [--tpm PATH | --software-key FILE]                     (workstation)
                             resets each key and sets its PIN from two halves, then creates;
                             journaled in results.json.journal.jsonl and resumed from it
  keyceremony offline register --options options.json --results results.json --trust SHA256:…
                             [--tpm PATH | --software-key FILE] [sign-in flags]     (connected machine)`

func cmdOffline(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) error {
	if err := groupHelp(args, out, offlineUsage); err != nil {
		return err
	}
	if len(args) == 0 {
		return usageError{errors.New(offlineUsage)}
	}
	fs := newFlags("offline "+args[0], "offline "+args[0]+" … (see keyceremony offline -h)")
	var g graphFlags
	tpmPath := fs.String("tpm", workstation.DefaultTPMPath, "this machine's TPM (its key signs the file)")
	softKey := fs.String("software-key", "", "sign with this software key instead of a TPM")
	optsPath := fs.String("options", "", "the options file")
	resPath := fs.String("results", "", "the results file")
	outPath := fs.String("out", "", "file to write")
	trust := fs.String("trust", "", "SHA256 fingerprint of the other machine's key (from its screen or paper)")
	upn := fs.String("user", "", "the break-glass account (UPN or object ID)")
	keys := fs.Int("keys", 2, "number of keys")
	timeout := fs.Int("timeout-minutes", 1440, "challenge lifetime, 5 to 43200 minutes (beta API)")
	policyPath := fs.String("policy", "", "attestation policy (default: the embedded one), as the connected ceremony uses it")
	mdsPath := fs.String("mds", "", "FIDO MDS3 blob (default: the policy's)")
	isRehearsal := fs.Bool("rehearsal", false, "trust the simkey TEST root (rehearsal only)")
	officerA := fs.String("officer-a", "Officer A", "name of the officer holding PIN half A")
	officerB := fs.String("officer-b", "Officer B", "name of the officer holding PIN half B")
	var devices multiFlag
	fs.Var(&devices, "device", "key address, once per key in slot order (default: the officers plug each key in alone, found through hidraw)")
	reset := fs.Bool("reset", true, "reset each key first (in its power-up window), then set its PIN from the officers' halves")
	minPIN := fs.Int("min-pin-length", 0, "minimum PIN length to apply to each key (and to ask the officers for)")
	yes := fs.Bool("yes", false, "take confirmations as given (headless); otherwise each officer types y")
	generated := fs.Bool("generated-pin", false, "generate each PIN and print each half on its own page for its own envelope, instead of typed halves")
	printCommand := fs.String("print-command", "lp", "the command that prints a generated half's page from its standard input (with --rehearsal: pages go to OUT's folder, envelopes/)")
	if args[0] == "export" || args[0] == "register" {
		g.register(fs.FlagSet)
	}
	if _, err := fs.parse(args[1:], out); err != nil {
		return err
	}
	signer, closeSigner, err := openSigner(*tpmPath, *softKey)
	if err != nil {
		return err
	}
	defer closeSigner()
	self, err := signer.SSHPublicKey()
	if err != nil {
		return err
	}
	switch args[0] {
	case "export":
		if *upn == "" || *outPath == "" {
			return usageError{errors.New(offlineUsage)}
		}
		c, err := g.signIn(ctx, errOut, true)
		if err != nil {
			return err
		}
		now := time.Now()
		o, err := offline.Export(ctx, c, g.tenant, *upn, *keys, *timeout, func(slot int) string {
			return fmt.Sprintf("Break glass key %d (%s)", slot, now.Format("2006-01-02"))
		}, now)
		if err != nil {
			return err
		}
		if err := offline.Write(*outPath, o, offline.NamespaceOptions, signer.Key); err != nil {
			return err
		}
		fmt.Fprintf(out, "Wrote %s for %s, %d keys, challenges valid until %s.\nGive the workstation this fingerprint: %s\n",
			*outPath, o.UPN, len(o.Keys), o.Keys[0].Options.ChallengeTimeout.Format(time.RFC3339), ssh.FingerprintSHA256(self))
		return nil
	case "create":
		if *optsPath == "" || *outPath == "" || *trust == "" {
			return usageError{errors.New(offlineUsage)}
		}
		vf, err := loadVerifier(*policyPath, *mdsPath, *isRehearsal)
		if err != nil {
			return usageError{err}
		}
		var o offline.Options
		payload, err := offline.Read(*optsPath, offline.NamespaceOptions, offline.Trust{Fingerprint: *trust}, &o)
		if err != nil {
			return err
		}
		print := envelope.Command(strings.Fields(*printCommand))
		if *isRehearsal {
			print = envelope.Folder(filepath.Join(filepath.Dir(*outPath), "envelopes"))
		}
		res, err := offline.CreateOnWorkstation(ctx, &o, payload, vf, offline.Workstation{Devices: devices, Reset: *reset, MinPINLength: *minPIN,
			OfficerA: *officerA, OfficerB: *officerB, GeneratedPIN: *generated, PrintHalf: print, Rehearsal: *isRehearsal,
			Officers: officer.Lines(in, errOut, *yes)}, *outPath, errOut)
		if err != nil {
			return err
		}
		if err := offline.Write(*outPath, res, offline.NamespaceResults, signer.Key); err != nil {
			return err
		}
		for _, kr := range res.Credentials {
			fmt.Fprintf(out, "Key %d:\n", kr.Slot)
			if err := kr.Attestation.WriteText(out); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "Wrote %s with %d credentials.\nGive the connected machine this fingerprint: %s\n", *outPath, len(res.Credentials), ssh.FingerprintSHA256(self))
		return nil
	case "register":
		if *optsPath == "" || *resPath == "" || *trust == "" {
			return usageError{errors.New(offlineUsage)}
		}
		var o offline.Options
		payload, err := offline.Read(*optsPath, offline.NamespaceOptions, offline.Trust{PublicKey: self}, &o)
		if err != nil {
			return fmt.Errorf("the options file is not the one this machine wrote: %w", err)
		}
		var res offline.Results
		if _, err := offline.Read(*resPath, offline.NamespaceResults, offline.Trust{Fingerprint: *trust}, &res); err != nil {
			return err
		}
		// The workstation's verdicts, as signed in the results, before anything is registered.
		for _, kr := range res.Credentials {
			fmt.Fprintf(out, "Key %d (%s):\n", kr.Slot, kr.DisplayName)
			if kr.Attestation == nil {
				fmt.Fprintln(out, "no attestation verdict in the results")
				continue
			}
			if err := kr.Attestation.WriteText(out); err != nil {
				return err
			}
		}
		c, err := g.signIn(ctx, errOut, true)
		if err != nil {
			return err
		}
		methods, err := offline.Register(ctx, c, payload, &res)
		for _, m := range methods {
			fmt.Fprintf(out, "Registered %q: method %s, AAGUID %s (%s)\n", m.DisplayName, m.ID, m.AAGUID, m.AttestationLevel)
		}
		return err
	}
	return usageError{errors.New(offlineUsage)}
}

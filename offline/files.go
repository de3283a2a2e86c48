package offline

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/internal/keyname"
	"github.com/keyceremony/keyceremony/workstation"
)

// Export signs in with connect, fetches the creation options of n keys
// for upn (the beta long challenge, valid timeoutMinutes) and writes them
// to path, signed with signer (this machine's key): the connected
// machine's half of the split. out hears what was written and the
// fingerprint the workstation must trust.
func Export(ctx context.Context, connect func(context.Context) (*enroll.Client, error), tenantID, upn string,
	n, timeoutMinutes int, path string, signer workstation.Signer, out io.Writer) error {
	c, err := connect(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	o, err := fetchOptions(ctx, c, tenantID, upn, n, timeoutMinutes, func(slot int) string {
		// The model is not known here: "BG1 key 1 2026" (internal/keyname).
		return keyname.Render(keyname.Default, 1, slot, "", now)
	}, now)
	if err != nil {
		return err
	}
	if err := writeFile(path, o, namespaceOptions, signer.Key); err != nil {
		return err
	}
	fp, err := signer.Fingerprint()
	if err != nil {
		return err
	}
	fmt.Fprintf(
		out,
		"Wrote %s for %s, %d keys, challenges valid until %s.\nGive the workstation this fingerprint: %s\n",
		path,
		o.UPN,
		len(o.Keys),
		o.Keys[0].Options.ChallengeTimeout.Format(time.RFC3339),
		fp,
	)
	return nil
}

// Create reads the options at optionsPath, which must be signed by the
// key whose SHA256 fingerprint is trusted, makes their credentials on this
// workstation (judged by vf, as the connected ceremony judges them) and
// writes the results to resultsPath, signed with signer; a rehearsal says
// so inside the signed results. out hears each key's verdict, what was
// written and the fingerprint the connected machine must trust.
func Create(
	ctx context.Context,
	optionsPath, trusted, resultsPath string,
	vf *attest.Verifier,
	w Workstation,
	signer workstation.Signer,
	out, notice io.Writer,
) error {
	var o optionsFile
	payload, err := readFile(optionsPath, namespaceOptions, trustedKey{Fingerprint: trusted}, &o)
	if err != nil {
		return err
	}
	res, err := createOnWorkstation(ctx, &o, payload, vf, w, resultsPath, notice)
	if err != nil {
		return err
	}
	res.Rehearsal = w.Rehearsal
	if err := writeFile(resultsPath, res, namespaceResults, signer.Key); err != nil {
		return fmt.Errorf("%w: nothing is lost, every credential is in the journal %s; free space "+
			"(or choose another --out) and run the same command again: no key is touched again",
			err, resultsPath+".journal.jsonl")
	}
	if err := res.writeVerdicts(out); err != nil {
		return err
	}
	fp, err := signer.Fingerprint()
	if err != nil {
		return err
	}
	fmt.Fprintf(
		out,
		"Wrote %s with %d credentials.\nGive the connected machine this fingerprint: %s\n",
		resultsPath,
		len(res.Credentials),
		fp,
	)
	return nil
}

// refused is an error that refuses (exit code 1), not a broken input.
type refused struct{ error }

func (refused) ExitCode() int { return 1 }

// Register reads the options this machine wrote (signed by its key) and
// the results signed by the workstation whose SHA256 fingerprint is
// trusted, judges every credential itself with vf against the challenge
// it exported, shows its verdict beside the workstation's (a disagreement
// refuses), then signs in with connect and registers them, journaled in
// resultsPath.register.journal.jsonl: a rerun adopts a method that holds
// a credential of these results and registers the rest. Results made in a
// rehearsal are refused unless rehearsal is set, and then out says
// REHEARSAL.
func Register(ctx context.Context, optionsPath, resultsPath, trusted string, vf *attest.Verifier, rehearsal bool,
	signer workstation.Signer, connect func(context.Context) (*enroll.Client, error), out io.Writer) error {
	self, err := signer.SSHPublicKey()
	if err != nil {
		return err
	}
	var o optionsFile
	payload, err := readFile(optionsPath, namespaceOptions, trustedKey{PublicKey: self}, &o)
	if err != nil {
		return fmt.Errorf("the options file is not the one this machine wrote: %w", err)
	}
	var res resultsFile
	if _, err := readFile(resultsPath, namespaceResults, trustedKey{Fingerprint: trusted}, &res); err != nil {
		return err
	}
	switch {
	case res.Rehearsal && !rehearsal:
		return refused{fmt.Errorf("%s was made in a rehearsal (offline create --rehearsal: virtual keys, "+
			"the simkey TEST root trusted): a rehearsal never registers a key in a real tenant; nothing was "+
			"registered (only offline register --rehearsal, against the emulator, takes it)", resultsPath)}
	case rehearsal:
		fmt.Fprintln(out, "REHEARSAL: registering a rehearsal's results (simkey TEST root trusted); "+
			"not for a real tenant.")
	}
	if err := answers(payload, &res); err != nil {
		return err
	}
	if err := judgeAll(&o, &res, vf, out); err != nil {
		return err
	}
	c, err := connect(ctx)
	if err != nil {
		return err
	}
	j, err := ceremony.OpenOrCreateJournal(resultsPath+".register.journal.jsonl", false)
	if err != nil {
		return err
	}
	defer j.Close()
	return registerResults(ctx, c, &res, j, out)
}

// writeVerdicts writes each credential's attestation verdict.
func (r *resultsFile) writeVerdicts(out io.Writer) error {
	for _, kr := range r.Credentials {
		fmt.Fprintf(out, "Key %d (%s):\n", kr.Slot, kr.DisplayName)
		if kr.Attestation == nil {
			fmt.Fprintln(out, "no attestation verdict in the results")
			continue
		}
		if err := kr.Attestation.WriteText(out); err != nil {
			return err
		}
	}
	return nil
}

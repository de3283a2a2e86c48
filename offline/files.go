package offline

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/internal/keyname"
	"github.com/keyceremony/keyceremony/workstation"
)

// Export fetches the creation options of n keys for upn (the beta
// long challenge, valid timeoutMinutes) and writes them to path, signed
// with signer (this machine's key): the connected machine's half of the
// split. out hears what was written and the fingerprint the workstation
// must trust.
func Export(ctx context.Context, c *enroll.Client, tenantID, upn string, n, timeoutMinutes int, path string, signer workstation.Signer, out io.Writer) error {
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
	fmt.Fprintf(out, "Wrote %s for %s, %d keys, challenges valid until %s.\nGive the workstation this fingerprint: %s\n",
		path, o.UPN, len(o.Keys), o.Keys[0].Options.ChallengeTimeout.Format(time.RFC3339), fp)
	return nil
}

// Create reads the options at optionsPath, which must be signed by the
// key whose SHA256 fingerprint is trusted, makes their credentials on this
// workstation (judged by vf, as the connected ceremony judges them) and
// writes the results to resultsPath, signed with signer. out hears each
// key's verdict, what was written and the fingerprint the connected
// machine must trust.
func Create(ctx context.Context, optionsPath, trusted, resultsPath string, vf *attest.Verifier, w Workstation, signer workstation.Signer, out, notice io.Writer) error {
	var o optionsFile
	payload, err := readFile(optionsPath, namespaceOptions, trustedKey{Fingerprint: trusted}, &o)
	if err != nil {
		return err
	}
	res, err := createOnWorkstation(ctx, &o, payload, vf, w, resultsPath, notice)
	if err != nil {
		return err
	}
	if err := writeFile(resultsPath, res, namespaceResults, signer.Key); err != nil {
		return err
	}
	if err := res.writeVerdicts(out); err != nil {
		return err
	}
	fp, err := signer.Fingerprint()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Wrote %s with %d credentials.\nGive the connected machine this fingerprint: %s\n", resultsPath, len(res.Credentials), fp)
	return nil
}

// Register reads the options this machine wrote (signed by its key) and
// the results signed by the workstation whose SHA256 fingerprint is
// trusted, shows out the workstation's verdicts, then signs in with
// connect and registers the credentials, once it has checked that the results answer these options.
func Register(ctx context.Context, optionsPath, resultsPath, trusted string, signer workstation.Signer, connect func(context.Context) (*enroll.Client, error), out io.Writer) error {
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
	// The workstation's verdicts, as signed in the results, before anything is registered.
	if err := res.writeVerdicts(out); err != nil {
		return err
	}
	c, err := connect(ctx)
	if err != nil {
		return err
	}
	methods, err := registerResults(ctx, c, payload, &res)
	for _, m := range methods {
		fmt.Fprintf(out, "Registered %q: method %s, AAGUID %s (%s)\n", m.DisplayName, m.ID, m.AAGUID, m.AttestationLevel)
	}
	return err
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

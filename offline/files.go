package offline

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/enroll"
)

// Export fetches the creation options of n keys for upn (the beta
// long challenge, valid timeoutMinutes) and writes them to path, signed
// with key: the connected machine's half of the split. out hears what was
// written and the fingerprint the workstation must trust.
func Export(ctx context.Context, c *enroll.Client, tenantID, upn string, n, timeoutMinutes int, path string, key crypto.Signer, out io.Writer) (*Options, error) {
	now := time.Now()
	o, err := fetchOptions(ctx, c, tenantID, upn, n, timeoutMinutes, func(slot int) string {
		return fmt.Sprintf("Break glass key %d (%s)", slot, now.Format("2006-01-02"))
	}, now)
	if err != nil {
		return nil, err
	}
	if err := writeFile(path, o, namespaceOptions, key); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "Wrote %s for %s, %d keys, challenges valid until %s.\nGive the workstation this fingerprint: %s\n",
		path, o.UPN, len(o.Keys), o.Keys[0].Options.ChallengeTimeout.Format(time.RFC3339), fingerprint(key))
	return o, nil
}

// fingerprint is the SHA256 fingerprint the other machine trusts key by.
func fingerprint(key crypto.Signer) string {
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		return fmt.Sprintf("(no fingerprint: %v)", err)
	}
	return ssh.FingerprintSHA256(pub)
}

// Create reads the options at optionsPath, which must be signed by the
// key whose SHA256 fingerprint is trusted, makes their credentials on this
// workstation (judged by vf, as the connected ceremony judges them) and writes the results
// to resultsPath, signed with key. out hears each key's verdict, what was
// written and the fingerprint the connected machine must trust.
func Create(ctx context.Context, optionsPath, trusted, resultsPath string, vf *attest.Verifier, w Workstation, key crypto.Signer, out, notice io.Writer) (*Results, error) {
	var o Options
	payload, err := readFile(optionsPath, namespaceOptions, trustedKey{Fingerprint: trusted}, &o)
	if err != nil {
		return nil, err
	}
	res, err := createOnWorkstation(ctx, &o, payload, vf, w, resultsPath, notice)
	if err != nil {
		return nil, err
	}
	if err := writeFile(resultsPath, res, namespaceResults, key); err != nil {
		return nil, err
	}
	if err := res.writeVerdicts(out); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "Wrote %s with %d credentials.\nGive the connected machine this fingerprint: %s\n", resultsPath, len(res.Credentials), fingerprint(key))
	return res, nil
}

// Register reads the options this machine wrote (signed by its key) and
// the results signed by the workstation whose SHA256 fingerprint is
// trusted, shows out the workstation's verdicts, then signs in with
// connect and registers the credentials, once it has checked that the results answer these options.
func Register(ctx context.Context, optionsPath, resultsPath, trusted string, key crypto.Signer, connect func(context.Context) (*enroll.Client, error), out io.Writer) ([]enroll.Method, error) {
	self, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	var o Options
	payload, err := readFile(optionsPath, namespaceOptions, trustedKey{PublicKey: self}, &o)
	if err != nil {
		return nil, fmt.Errorf("the options file is not the one this machine wrote: %w", err)
	}
	var res Results
	if _, err := readFile(resultsPath, namespaceResults, trustedKey{Fingerprint: trusted}, &res); err != nil {
		return nil, err
	}
	// The workstation's verdicts, as signed in the results, before anything is registered.
	if err := res.writeVerdicts(out); err != nil {
		return nil, err
	}
	c, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	methods, err := registerResults(ctx, c, payload, &res)
	for _, m := range methods {
		fmt.Fprintf(out, "Registered %q: method %s, AAGUID %s (%s)\n", m.DisplayName, m.ID, m.AAGUID, m.AttestationLevel)
	}
	return methods, err
}

// writeVerdicts writes each credential's attestation verdict.
func (r *Results) writeVerdicts(out io.Writer) error {
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

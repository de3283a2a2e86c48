package main

import (
	"context"
	"os"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/internal/cli"
	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
)

// verifierFlags defines --policy, --mds and --rehearsal; the function it
// returns builds the Verifier they name (a rehearsal also trusts the
// simkey TEST root), the bool is --rehearsal.
func verifierFlags(fs *cli.Flags) (func() (*attest.Verifier, error), *bool) {
	policyPath := fs.String("policy", "", "attestation policy file (default: the embedded policy)")
	mdsPath := fs.String("mds", "", "FIDO MDS3 blob (default: the policy's, if any)")
	isRehearsal := fs.Bool("rehearsal", false, "trust the simkey TEST root (rehearsal only)")
	return func() (*attest.Verifier, error) {
		vf, err := attest.Load(*policyPath, *mdsPath, time.Now())
		if err != nil || !*isRehearsal {
			return vf, err
		}
		rv := rehearsal.Verifier(vf.Policy)
		rv.MDS = vf.MDS
		return rv, nil
	}, isRehearsal
}

func cmdAttestVerify(fs *cli.Flags) cli.Run {
	verifier, _ := verifierFlags(fs)
	asJSON := fs.Bool("json", false, "print the verdict as JSON")
	rpID := fs.String("rp-id", "login.microsoft.com", "expected relying party ID")
	origin := fs.String("origin", "https://login.microsoft.com", "expected origin in clientDataJSON")
	firmware := fs.String(
		"firmware",
		"",
		"the key's getInfo firmwareVersion, when the policy sets a minimum (e.g. 5.4.3)",
	)
	return func(ctx context.Context, path string, s cli.IO) error {
		data, err := os.ReadFile(path)
		if err != nil {
			return cli.UsageError(err)
		}
		vf, err := verifier()
		if err != nil {
			return cli.UsageError(err)
		}
		in, err := attest.InputFromRegistrationJSON(data, *firmware)
		if err != nil {
			return cli.UsageError(err)
		}
		v, err := vf.Verify(in, attest.Expect{RPID: *rpID, Origin: *origin})
		if err != nil {
			return cli.UsageError(err)
		}
		if err = cli.Show(s.Out, *asJSON, v); err == nil && !v.Allowed {
			err = cli.Finding("refused (%d reasons)", len(v.Reasons))
		}
		return err
	}
}

func cmdPolicyShow(fs *cli.Flags) cli.Run {
	return func(ctx context.Context, _ string, s cli.IO) error {
		p, err := attest.LoadPolicy("")
		if err == nil {
			_, err = s.Out.Write(p.JSON())
		}
		return err
	}
}

func cmdPolicyRoots(fs *cli.Flags) cli.Run {
	dir := fs.String("out", "", "directory to write the roots into (created)")
	fs.Need("out")
	return func(ctx context.Context, _ string, s cli.IO) error {
		p, err := attest.LoadPolicy("")
		if err != nil {
			return err
		}
		return p.WriteRoots(*dir, s.Out)
	}
}

func cmdPolicyCheck(fs *cli.Flags) cli.Run {
	return func(ctx context.Context, path string, s cli.IO) error {
		if path == "default" {
			path = ""
		}
		p, err := attest.LoadPolicy(path)
		if err != nil {
			return cli.UsageError(err)
		}
		return p.WriteText(s.Out)
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
)

// usageError is a command that could not run (bad flags, unreadable input): exit 2.
type usageError struct{ error }

func (usageError) ExitCode() int { return 2 }

// loadVerifier builds a Verifier from --policy (default: embedded) and
// --mds; a rehearsal also trusts the simkey TEST root.
func loadVerifier(policyPath, mdsPath string, isRehearsal bool) (*attest.Verifier, error) {
	vf, err := attest.Load(policyPath, mdsPath, time.Now())
	if err != nil || !isRehearsal {
		return vf, err
	}
	rv := rehearsal.Verifier(vf.Policy)
	rv.MDS = vf.MDS
	return rv, nil
}

func cmdAttest(ctx context.Context, args []string, out io.Writer) error {
	const synopsis = "attest verify [--policy FILE] [--mds FILE] [--rehearsal] [--json] [--rp-id ID] [--origin URL] [--firmware X.Y.Z] REGISTRATION.json"
	if err := groupHelp(args, out, "usage: keyceremony "+synopsis); err != nil {
		return err
	}
	if len(args) == 0 || args[0] != "verify" {
		return usageError{errors.New("usage: keyceremony " + synopsis)}
	}
	fs := newFlags("attest verify", synopsis)
	policyPath := fs.String("policy", "", "policy file (default: the embedded policy)")
	mdsPath := fs.String("mds", "", "FIDO MDS3 blob (default: the policy's, if any)")
	rehearsal := fs.Bool("rehearsal", false, "trust the simkey TEST root (rehearsal only)")
	asJSON := fs.Bool("json", false, "print the verdict as JSON")
	rpID := fs.String("rp-id", "login.microsoft.com", "expected relying party ID")
	origin := fs.String("origin", "https://login.microsoft.com", "expected origin in clientDataJSON")
	firmware := fs.String("firmware", "", "the key's getInfo firmwareVersion, when the policy sets a minimum (e.g. 5.4.3)")
	pos, err := fs.parse(args[1:], out)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fs.usageError("give exactly one registration file")
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return usageError{err}
	}
	vf, err := loadVerifier(*policyPath, *mdsPath, *rehearsal)
	if err != nil {
		return usageError{err}
	}
	in, err := attest.InputFromRegistrationJSON(data, *firmware)
	if err != nil {
		return usageError{err}
	}
	v, err := vf.Verify(in, attest.Expect{RPID: *rpID, Origin: *origin})
	if err != nil {
		return usageError{err}
	}
	if *asJSON {
		if err := writeJSON(out, v); err != nil {
			return err
		}
	} else if err := v.WriteText(out); err != nil {
		return err
	}
	if !v.Allowed {
		return findingError{fmt.Sprintf("refused (%d reasons)", len(v.Reasons))}
	}
	return nil
}

func cmdPolicy(ctx context.Context, args []string, out io.Writer) error {
	const policyUsage = `usage:
  keyceremony policy check FILE|default   validate a policy and show what it allows ("default": the embedded one)
  keyceremony policy show                 print the embedded policy as it is
  keyceremony policy roots --out DIR      write the embedded policy's roots as PEM files`
	if err := groupHelp(args, out, policyUsage); err != nil {
		return err
	}
	if len(args) == 0 {
		return usageError{errors.New(policyUsage)}
	}
	switch args[0] {
	case "show":
		p, err := attest.DefaultPolicy()
		if err != nil {
			return err
		}
		_, err = out.Write(p.JSON())
		return err
	case "roots":
		fs := newFlags("policy roots", "policy roots --out DIR")
		dir := fs.String("out", "", "directory to write the roots into (created)")
		if _, err := fs.parse(args[1:], out); err != nil {
			return err
		}
		if *dir == "" {
			return fs.usageError("--out is required")
		}
		p, err := attest.DefaultPolicy()
		if err != nil {
			return err
		}
		return p.WriteRoots(*dir, out)
	}
	if len(args) != 2 || args[0] != "check" {
		return usageError{errors.New(policyUsage)}
	}
	policyPath := args[1]
	if policyPath == "default" {
		policyPath = ""
	}
	p, err := attest.DefaultPolicy()
	if policyPath != "" {
		p, err = attest.LoadPolicy(policyPath)
	}
	if err != nil {
		return usageError{err}
	}
	return p.WriteText(out)
}

package report

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/sigfile"
	"github.com/keyceremony/keyceremony/workstation"
)

// Verification failures, each with its own message (Verify wraps them).
var (
	errSignatureDamaged = errors.New("the signature file is damaged or is not an SSH signature")
	errWrongKey         = errors.New("the report was signed by another key than the one given")
	errTampered         = errors.New("the signature does not match the report: the report or its signature was changed")
	errNotAReport       = errors.New("the file is not a keyceremony report")
	errNotCanonical     = errors.New("the report is not in canonical form (it was re-encoded or edited)")
	errSignerMismatch   = errors.New("the report names another signing key than the one that signed it")
	errRehearsal        = errors.New(
		"this is a REHEARSAL report, signed by a throw-away key: it records no real ceremony",
	)
	errChain = errors.New("the chain to the previous report is broken")
)

// VerifyOptions say what to check beyond the signature.
type VerifyOptions struct {
	// Previous is the previous report of the account (its report.json bytes);
	// when set, the report must chain to it.
	Previous []byte
	// Rehearsal accepts rehearsal reports.
	Rehearsal bool
}

// Verify checks a report against its SSHSIG signature and the public key the
// officers trust (from report.pub, compared with the fingerprint on paper).
// It returns the parsed report only when every check holds.
func Verify(reportJSON, signature []byte, pub ssh.PublicKey, opts VerifyOptions) (*Report, error) {
	if err := sigfile.Verify(reportJSON, signature, pub, Namespace); err != nil {
		switch {
		case errors.Is(err, sigfile.ErrDamaged):
			return nil, fmt.Errorf("%w: %v", errSignatureDamaged, err)
		case errors.Is(err, sigfile.ErrWrongKey):
			return nil, fmt.Errorf("%w: %v", errWrongKey, err)
		}
		return nil, fmt.Errorf("%w: %v", errTampered, err)
	}
	r, err := Parse(reportJSON)
	if err != nil {
		return nil, err // it says the file is not a report, and why
	}
	again, err := r.canonical()
	if err != nil || !bytes.Equal(again, reportJSON) {
		return nil, errNotCanonical
	}
	if r.Workstation.SignerPublicKey != strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) {
		return nil, errSignerMismatch
	}
	if (r.Rehearsal || r.Workstation.SignerKind == workstation.KindRehearsal) && !opts.Rehearsal {
		return nil, errRehearsal
	}
	if opts.Previous != nil {
		prev, err := Parse(opts.Previous)
		if err != nil {
			return nil, fmt.Errorf("%w: the previous report: %v", errChain, err)
		}
		want := Ref(opts.Previous, prev)
		switch {
		case r.Previous == nil:
			return nil, fmt.Errorf("%w: the report names no previous report", errChain)
		case r.Previous.SHA256 != want.SHA256:
			return nil, fmt.Errorf(
				"%w: it names previous report %s, the given one hashes to %s",
				errChain,
				r.Previous.SHA256,
				want.SHA256,
			)
		case prev.Account != r.Account:
			return nil, fmt.Errorf(
				"%w: the previous report is for account %s, this one for %s",
				errChain,
				prev.Account.UPN,
				r.Account.UPN,
			)
		case !prev.Started.Before(r.Started):
			return nil, fmt.Errorf("%w: the previous report is not older", errChain)
		}
	}
	return r, nil
}

// parsePublicKey reads an OpenSSH public key (report.pub).
func parsePublicKey(data []byte) (ssh.PublicKey, error) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	return pub, nil
}

// publicKeyPath is pubPath, or when that is "" report.pub beside the
// report at path.
func publicKeyPath(path, pubPath string) string {
	if pubPath == "" {
		return filepath.Join(filepath.Dir(path), filePublicKey)
	}
	return pubPath
}

// ReadSigned reads what verifying the report at path needs: its bytes, its
// signature (path + ".sig") and the public key the verifier trusts, from
// pubPath or, when that is "", report.pub beside the report.
func ReadSigned(path, pubPath string) (body, sig []byte, pub ssh.PublicKey, err error) {
	if body, err = os.ReadFile(path); err != nil {
		return nil, nil, nil, err
	}
	if sig, err = os.ReadFile(path + ".sig"); err != nil {
		return nil, nil, nil, fmt.Errorf("signature: %w", err)
	}
	pubData, err := os.ReadFile(publicKeyPath(path, pubPath))
	if err != nil {
		return nil, nil, nil, err
	}
	pub, err = parsePublicKey(pubData)
	return body, sig, pub, err
}

package ceremony

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/workstation"
)

// SittingAccount is one break-glass account of a sitting: several
// accounts provisioned one after the other, each with its own keys.
type SittingAccount struct {
	UPN      string
	Previous []byte // the account's previous report.json, for the chain
	OutDir   string // its report and journal
}

// JournalPath is where the account's ceremony is journaled.
func (a SittingAccount) JournalPath() string { return filepath.Join(a.OutDir, "journal.jsonl") }

// OpenOrCreateJournal opens the journal at path to resume it when it
// exists (or resume is asked), or creates it.
func OpenOrCreateJournal(path string, resume bool) (*Journal, error) {
	if _, err := os.Stat(path); resume || err == nil {
		return openJournal(path, time.Now)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return CreateJournal(path, time.Now)
}

// RunSitting provisions each account in turn with run. A key provisioned
// for an earlier account is refused for a later one (run receives their
// credentials as OtherKeys). An account is done only when the signed report
// in its folder verifies (signature by the key it names, its account, its
// chain to Previous): it is not provisioned again, and out says so (and
// when another key than signer's signed it). Any other
// account is run, which resumes its journal when there is one (a report
// whose writing was interrupted is finished from it); a report.json that
// does not verify, without a journal to finish it, is refused before
// anything is done. With several accounts, the signed summary page goes
// into dir.
func RunSitting(ctx context.Context, out io.Writer, accounts []SittingAccount, dir string, signer workstation.Signer,
	run func(ctx context.Context, a SittingAccount, others []KnownKey) (*Result, error)) (summary string, err error) {
	var others []KnownKey
	var dirs []string
	for _, a := range accounts {
		r, why, err := verifiedReport(a, signer)
		if err != nil {
			return "", fmt.Errorf("%s: %w", a.UPN, err)
		}
		switch {
		case r != nil:
			fmt.Fprintf(out, "%s: its signed report in %s verifies (provisioned earlier in this sitting): "+
				"nothing is done again\n", a.UPN, a.OutDir)
			if mine, err := signer.Fingerprint(); err == nil && mine != r.Workstation.SignerFingerprint {
				fmt.Fprintf(out, "%s: note: that report was signed by the workstation key %s, not by this one (%s)\n",
					a.UPN, r.Workstation.SignerFingerprint, mine)
			}
		case why != nil && !fileExists(a.JournalPath()):
			return "", fmt.Errorf("%s: %s does not verify (%v) and there is no journal %s to finish it: "+
				"nothing was done; check the folder with keyceremony report verify",
				a.UPN, filepath.Join(a.OutDir, report.FileReport), why, a.JournalPath())
		default:
			if why != nil {
				fmt.Fprintf(out, "%s: its report does not verify yet (%v): "+
					"its ceremony is finished from its journal %s\n",
					a.UPN, why, a.JournalPath())
			}
			if _, err := run(ctx, a, others); err != nil {
				return "", fmt.Errorf("%s: %w", a.UPN, err)
			}
			if r, why, err = verifiedReport(a, signer); err != nil || why != nil {
				return "", fmt.Errorf("%s: the report written in %s does not verify: %w",
					a.UPN, a.OutDir, errors.Join(err, why))
			}
		}
		for _, k := range r.Keys {
			id, err := base64.RawURLEncoding.DecodeString(k.CredentialID)
			if err != nil {
				return "", fmt.Errorf("%s key %d: credential ID: %w", a.UPN, k.Slot, err)
			}
			others = append(others, KnownKey{Label: fmt.Sprintf("key %d of %s", k.Slot, r.Account.UPN), CredentialID: id})
		}
		dirs = append(dirs, a.OutDir)
	}
	if len(accounts) < 2 {
		return "", nil
	}
	// Files for the safe are never overwritten: a summary already written
	// by an earlier run of this sitting stays as it was signed.
	if path := filepath.Join(dir, report.FileSummary); fileExists(path) {
		fmt.Fprintf(out, "The sitting's summary is already in %s: it stays as it was signed\n", path)
		return path, nil
	}
	return report.WriteSummary(dir, dirs, signer)
}

// verifiedReport reads account a's signed report from its folder and
// verifies it: its signature by the key it names, its account and its
// chain to the account's previous report. It returns the report; or why it
// does not verify (no report.json, no signature, another account's…); or
// an error when the folder cannot be read.
func verifiedReport(a SittingAccount, signer workstation.Signer) (*report.Report, error, error) {
	path := filepath.Join(a.OutDir, report.FileReport)
	body, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	sig, err := os.ReadFile(path + ".sig")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.New("its signature is missing"), nil
	} else if err != nil {
		return nil, nil, err
	}
	// Verified with the key the report names (Verify checks it signed it):
	// whether the report is whole and intact does not depend on this run's
	// key, which a rehearsal draws anew and a workstation may have changed;
	// a report signed by another key is still done, never provisioned over.
	named, err := report.Parse(body)
	if err != nil {
		return nil, err, nil
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(named.Workstation.SignerPublicKey))
	if err != nil {
		return nil, fmt.Errorf("the signing key it names: %w", err), nil
	}
	opts := report.VerifyOptions{Previous: a.Previous, Rehearsal: signer.Kind == workstation.KindRehearsal}
	r, err := report.Verify(body, sig, pub, opts)
	if err != nil {
		return nil, err, nil
	}
	if !strings.EqualFold(r.Account.UPN, a.UPN) {
		return nil, fmt.Errorf("it is the report of %s", r.Account.UPN), nil
	}
	return r, nil, nil
}

// fileExists says whether path names an existing file.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Of says which account of a sitting of several a is, for the officers'
// screen: " (account 2 of 2)"; nothing for a single account.
func (a SittingAccount) Of(accounts []SittingAccount) string {
	if len(accounts) < 2 {
		return ""
	}
	i := slices.IndexFunc(accounts, func(b SittingAccount) bool { return b.UPN == a.UPN })
	return fmt.Sprintf(" (account %d of %d)", i+1, len(accounts))
}

package sitting

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/workstation"
)

// Account is one break-glass account of a sitting: several
// accounts provisioned one after the other, each with its own keys.
// Run fills in what an account lacks: its OutDir by the out_dir rule
// (accountDir), its Place and its Among.
type Account struct {
	UPN      string
	Previous []byte // the account's previous report.json, for the chain
	OutDir   string // its report and journal
	Place    int    // its place (1-based) among the sitting's accounts: the {account} of its keys' names
	// Among says which account of a sitting of several it is, for the
	// officers' screen: " (account 2 of 2)"; "" for a single account.
	Among string
}

// JournalPath is where the account's ceremony is journaled.
func (a Account) JournalPath() string { return filepath.Join(a.OutDir, "journal.jsonl") }

// Run provisions each account in turn with run. A key provisioned
// for an earlier account is refused for a later one (run receives their
// credentials as OtherKeys). An account is done only when the signed report
// in its folder verifies (signature by the key it names, its account, its
// chain to Previous): it is not provisioned again, and out says so (and
// when another key than signer's signed it). Any other
// account is run, which resumes its journal when there is one (a report
// whose writing was interrupted is finished from it); a report.json that
// does not verify, without a journal to finish it, is refused before
// anything is done. With several accounts, the signed summary page goes
// into dir, and out names it.
func Run(
	ctx context.Context,
	out io.Writer,
	accounts []Account,
	dir string,
	signer workstation.Signer,
	run func(ctx context.Context, a Account, others []ceremony.KnownKey) (*ceremony.Result, error),
) (summary string, err error) {
	var others []ceremony.KnownKey
	var dirs []string
	fillIn(accounts, dir)
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
			others = append(
				others,
				ceremony.KnownKey{Label: fmt.Sprintf("key %d of %s", k.Slot, r.Account.UPN), CredentialID: id},
			)
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
		summary = path
	} else if summary, err = report.WriteSummary(dir, dirs, signer); err != nil {
		return "", err
	}
	fmt.Fprintf(out, "Summary of the sitting (every account's key fingerprints, signed): %s\n", summary)
	return summary, nil
}

// accountDir is the out_dir rule: a single account's reports and journal
// go into dir itself; with several accounts, each into dir/UPN.
func accountDir(dir, upn string, accounts int) string {
	if accounts > 1 {
		return filepath.Join(dir, upn)
	}
	return dir
}

// verifiedReport reads account a's signed report from its folder and
// verifies it: its signature by the key it names, its account and its
// chain to the account's previous report. It returns the report; or why it
// does not verify (no report.json, no signature, another account's…); or
// an error when the folder cannot be read.
func verifiedReport(a Account, signer workstation.Signer) (*report.Report, error, error) {
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

// fillIn gives each account what it lacks: its folder by the out_dir rule,
// its place and its Among.
func fillIn(accounts []Account, dir string) {
	for i := range accounts {
		a := &accounts[i]
		if a.OutDir == "" {
			a.OutDir = accountDir(dir, a.UPN, len(accounts))
		}
		a.Place, a.Among = i+1, ""
		if len(accounts) > 1 {
			a.Among = fmt.Sprintf(" (account %d of %d)", i+1, len(accounts))
		}
	}
}

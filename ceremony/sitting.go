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
	"time"

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
// credentials as OtherKeys); an account whose signed report is already in
// its folder (an earlier run of this sitting) is not provisioned again, and
// out says so. With several accounts, the signed summary page goes into dir.
func RunSitting(ctx context.Context, out io.Writer, accounts []SittingAccount, dir string, signer workstation.Signer,
	run func(ctx context.Context, a SittingAccount, others []KnownKey) (*Result, error)) (summary string, err error) {
	var others []KnownKey
	var dirs []string
	for _, a := range accounts {
		body, err := os.ReadFile(filepath.Join(a.OutDir, report.FileReport))
		if errors.Is(err, fs.ErrNotExist) {
			res, err := run(ctx, a, others)
			if err != nil {
				return "", fmt.Errorf("%s: %w", a.UPN, err)
			}
			if body, err = os.ReadFile(filepath.Join(res.Dir, report.FileReport)); err != nil {
				return "", err
			}
		} else if err != nil {
			return "", err
		} else {
			fmt.Fprintf(out, "%s: its signed report is already in %s (provisioned earlier in this sitting): nothing is done again\n", a.UPN, a.OutDir)
		}
		r, err := report.Parse(body)
		if err != nil {
			return "", fmt.Errorf("%s: %w", a.UPN, err)
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

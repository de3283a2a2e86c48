package health

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/report"
)

// LastReport is an account's last report as health is given it: its
// bytes, signature and the key to check them with, and the account it
// names (not trusted until Run verifies the signature).
type LastReport struct {
	Path      string
	Body      []byte
	Signature []byte
	PublicKey ssh.PublicKey
	*report.Report
}

// ReadLastReports reads each last report once (with its signature and the
// key the officers trust: pubPath, or report.pub beside each report) and
// checks, before any key is touched, that they are one per account of the
// sitting (accounts: UPNs or object IDs): a health check covers them all.
func ReadLastReports(paths []string, pubPath string, accounts []string) ([]LastReport, error) {
	var out []LastReport
	for _, path := range paths {
		body, sig, pub, err := report.ReadSigned(path, pubPath)
		if err != nil {
			return nil, err
		}
		r, err := report.Parse(body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, LastReport{Path: path, Body: body, Signature: sig, PublicKey: pub, Report: r})
	}
	if err := coverAccounts(accounts, out); err != nil {
		return nil, err
	}
	return out, nil
}

// coverAccounts checks, before any key is touched, that the reports given
// are one per account of the config: a health check covers them all.
func coverAccounts(accounts []string, reports []LastReport) error {
	covered := map[int]string{}
	for _, r := range reports {
		i := slices.IndexFunc(accounts, func(a string) bool {
			return strings.EqualFold(a, r.Account.UPN) || a == r.Account.ObjectID
		})
		switch {
		case i < 0:
			return fmt.Errorf("%s is a report of %s, which the config does not name", r.Path, r.Account.UPN)
		case covered[i] != "":
			return fmt.Errorf(
				"%s and %s are both reports of %s: give each account's last report once",
				covered[i],
				r.Path,
				accounts[i],
			)
		}
		covered[i] = r.Path
	}
	var missing []string
	for i, a := range accounts {
		if covered[i] == "" {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf(
			"the config names %s too: give --report with each account's last report.json",
			strings.Join(missing, ", "),
		)
	}
	return nil
}

package report

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/crypto/ssh"
)

// VerifyFile verifies the signed report at path (its signature beside it)
// against the public key at pubPath (default report.pub beside it) and,
// with previousPath, its chain to that report; out hears the key's
// fingerprint to compare with the envelope, then FAILED and why, or OK and
// the report in brief. It returns whether the report verifies; an error
// is input it could not read.
func VerifyFile(path, pubPath, previousPath string, rehearsal bool, out io.Writer) (bool, error) {
	body, sig, pub, err := ReadSigned(path, pubPath)
	if err != nil {
		return false, err
	}
	pubPath = publicKeyPath(path, pubPath)
	opts := VerifyOptions{Rehearsal: rehearsal}
	if previousPath != "" {
		if opts.Previous, err = os.ReadFile(previousPath); err != nil {
			return false, err
		}
	}
	fmt.Fprintf(
		out,
		"Public key %s: %s\n  compare it with the fingerprint written on the envelope.\n",
		pubPath,
		ssh.FingerprintSHA256(pub),
	)
	r, err := Verify(body, sig, pub, opts)
	if err != nil {
		fmt.Fprintf(out, "FAILED: %v\n", err)
		if errors.Is(err, errRehearsal) {
			fmt.Fprintln(out, "(pass --rehearsal to check it as a rehearsal)")
		}
		return false, nil
	}
	fmt.Fprintf(out, "OK: signature, schema and canonical form hold")
	if opts.Previous != nil {
		fmt.Fprintf(out, ", and the chain to %s holds", previousPath)
	}
	fmt.Fprintln(out, ".")
	if err := r.writeBrief(out); err != nil {
		return true, err
	}
	if r.Previous != nil && opts.Previous == nil {
		fmt.Fprintf(
			out,
			"Note: chained to previous report %s (%s); pass --previous to check that link.\n",
			r.Previous.SHA256,
			r.Previous.CeremonyID,
		)
	}
	return true, nil
}

// PageOf is the printable page of the report at path, unverified: a PDF
// when pdf is set, else text.
func PageOf(path string, pdf bool) ([]byte, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := Parse(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if pdf {
		return renderPDF(r, body)
	}
	return render(r, body)
}

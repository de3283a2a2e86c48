package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/report"
)

func cmdReportVerify(ctx context.Context, fs *flags, args []string, s stdio) error {
	out := s.out
	pubPath := fs.String("pub", "", "the workstation's public key (default: report.pub beside the report)")
	prevPath := fs.String("previous", "", "the previous report of the account: check the chain to it")
	rehearsal := fs.Bool("rehearsal", false, "accept a rehearsal report")
	pos, err := fs.parse(args, out)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fs.usageError("give exactly one report")
	}
	path := pos[0]
	body, sig, pub, err := report.ReadSigned(path, *pubPath)
	if err != nil {
		return usageError{err}
	}
	if *pubPath == "" {
		*pubPath = filepath.Join(filepath.Dir(path), report.FilePublicKey)
	}
	opts := report.VerifyOptions{Rehearsal: *rehearsal}
	if *prevPath != "" {
		if opts.Previous, err = os.ReadFile(*prevPath); err != nil {
			return usageError{err}
		}
	}
	fmt.Fprintf(out, "Public key %s: %s\n  compare it with the fingerprint written on the envelope.\n", *pubPath, ssh.FingerprintSHA256(pub))
	r, err := report.Verify(body, sig, pub, opts)
	if err != nil {
		fmt.Fprintf(out, "FAILED: %v\n", err)
		return findingError{"the report does not verify"}
	}
	fmt.Fprintf(out, "OK: signature, schema and canonical form hold")
	if opts.Previous != nil {
		fmt.Fprintf(out, ", and the chain to %s holds", *prevPath)
	}
	fmt.Fprintln(out, ".")
	if err := r.WriteBrief(out); err != nil {
		return err
	}
	if r.Previous != nil && opts.Previous == nil {
		fmt.Fprintf(out, "Note: chained to previous report %s (%s); pass --previous to check that link.\n", r.Previous.SHA256, r.Previous.CeremonyID)
	}
	return nil
}

func readReport(path string) ([]byte, *report.Report, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	r, err := report.Parse(body)
	if err != nil {
		return nil, nil, err
	}
	return body, r, nil
}

func cmdReportShow(ctx context.Context, fs *flags, args []string, s stdio) error {
	out := s.out
	pos, err := fs.parse(args, out)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fs.usageError("give exactly one report")
	}
	body, r, err := readReport(pos[0])
	if err != nil {
		return usageError{err}
	}
	page, err := report.Render(r, body)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "(not verified: use `keyceremony report verify` for that)")
	_, err = out.Write(page)
	return err
}

func cmdReportPrint(ctx context.Context, fs *flags, args []string, s stdio) error {
	out := s.out
	dest := fs.String("out", "", "write the printable page here: .pdf or .txt")
	pos, err := fs.parse(args, out)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *dest == "" {
		return fs.usageError("give one report and --out")
	}
	path := pos[0]
	body, r, err := readReport(path)
	if err != nil {
		return usageError{err}
	}
	var page []byte
	if strings.HasSuffix(*dest, ".pdf") {
		page, err = report.RenderPDF(r, body)
	} else {
		page, err = report.Render(r, body)
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(*dest, page, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "Wrote %s\n", *dest)
	return nil
}

func cmdReportKey(ctx context.Context, fs *flags, args []string, s stdio) error {
	out := s.out
	openSigner := signerFlags(fs, "use (or create) this software key instead of a TPM; reports will say so")
	dir := fs.String("out", "", "also write report.pub, report.pem and allowed_signers here")
	if err := fs.noArgs(args, s); err != nil {
		return err
	}
	signer, closeFn, err := openSigner()
	if err != nil {
		return err
	}
	defer closeFn()
	pub, err := signer.SSHPublicKey()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Workstation report key (%s): %s\n%s", signer.Kind, ssh.FingerprintSHA256(pub), ssh.MarshalAuthorizedKey(pub))
	if *dir != "" {
		paths, err := report.WritePublicKeyFiles(*dir, signer.Key.Public())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Wrote %s\n", strings.Join(paths, ", "))
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/internal/cli"
	"github.com/keyceremony/keyceremony/report"
)

func cmdReportVerify(ctx context.Context, fs *cli.Flags, args []string, s cli.IO) error {
	pubPath := fs.String("pub", "", "the workstation's public key (default: report.pub beside the report)")
	prevPath := fs.String("previous", "", "the previous report of the account: check the chain to it")
	rehearsal := fs.Bool("rehearsal", false, "accept a rehearsal report")
	path, err := fs.One(args, s, "report")
	if err != nil {
		return err
	}
	ok, err := report.VerifyFile(path, *pubPath, *prevPath, *rehearsal, s.Out)
	switch {
	case err != nil:
		return cli.UsageError(err)
	case !ok:
		return cli.Finding("the report does not verify")
	}
	return nil
}

func cmdReportShow(ctx context.Context, fs *cli.Flags, args []string, s cli.IO) error {
	path, err := fs.One(args, s, "report")
	if err != nil {
		return err
	}
	page, err := report.PageOf(path, false)
	if err != nil {
		return cli.UsageError(err)
	}
	fmt.Fprintln(s.Out, "(not verified: use `keyceremony report verify` for that)")
	_, err = s.Out.Write(page)
	return err
}

func cmdReportPrint(ctx context.Context, fs *cli.Flags, args []string, s cli.IO) error {
	dest := fs.String("out", "", "write the printable page here: .pdf or .txt")
	path, err := fs.One(args, s, "report")
	if err != nil {
		return err
	}
	if *dest == "" {
		return fs.UsageError("--out is required")
	}
	page, err := report.PageOf(path, strings.HasSuffix(*dest, ".pdf"))
	if err != nil {
		return cli.UsageError(err)
	}
	if err := os.WriteFile(*dest, page, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "Wrote %s\n", *dest)
	return nil
}

func cmdReportKey(ctx context.Context, fs *cli.Flags, args []string, s cli.IO) error {
	out := s.Out
	openSigner := signerFlags(fs, "use (or create) this software key instead of a TPM; reports will say so")
	dir := fs.String("out", "", "also write report.pub, report.pem and allowed_signers here")
	if err := fs.NoArgs(args, s); err != nil {
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

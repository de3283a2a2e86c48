package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/keyceremony/keyceremony/internal/cli"
	"github.com/keyceremony/keyceremony/report"
)

func cmdReportVerify(fs *cli.Flags) cli.Run {
	pubPath := fs.String("pub", "", "the workstation's public key (default: report.pub beside the report)")
	prevPath := fs.String("previous", "", "the previous report of the account: check the chain to it")
	rehearsal := fs.Bool("rehearsal", false, "accept a rehearsal report")
	return func(ctx context.Context, path string, s cli.IO) error {
		ok, err := report.VerifyFile(path, *pubPath, *prevPath, *rehearsal, s.Out)
		switch {
		case err != nil:
			return cli.UsageError(err)
		case !ok:
			return cli.Finding("the report does not verify")
		}
		return nil
	}
}

func cmdReportShow(fs *cli.Flags) cli.Run {
	return func(ctx context.Context, path string, s cli.IO) error {
		page, err := report.PageOf(path, false)
		if err != nil {
			return cli.UsageError(err)
		}
		fmt.Fprintln(s.Out, "(not verified: use `keyceremony report verify` for that)")
		_, err = s.Out.Write(page)
		return err
	}
}

func cmdReportPrint(fs *cli.Flags) cli.Run {
	dest := fs.String("out", "", "write the printable page here: .pdf or .txt")
	fs.Need("out")
	return func(ctx context.Context, path string, s cli.IO) error {
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
}

func cmdReportKey(fs *cli.Flags) cli.Run {
	openSigner := signerFlags(fs, "use (or create) this software key instead of a TPM; reports will say so")
	dir := fs.String("out", "", "also write report.pub, report.pem and allowed_signers here")
	return func(ctx context.Context, _ string, s cli.IO) error {
		signer, closeFn, err := openSigner(s.Err)
		if err != nil {
			return err
		}
		defer closeFn()
		return report.WriteKey(s.Out, signer, *dir)
	}
}

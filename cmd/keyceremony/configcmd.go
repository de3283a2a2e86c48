package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/keyceremony/keyceremony/config"
	"github.com/keyceremony/keyceremony/udev"
)

const configUsage = `usage:
  keyceremony config init [--out ceremony.jsonc]   write a complete, commented example config
  keyceremony config check FILE                    check a config the day before: nothing is signed in, no key or TPM opened
  keyceremony config udev                          print the udev rule (install it as /etc/udev/rules.d/` + udev.FileName + `)`

// cmdConfig writes the example config.
func cmdConfig(args []string, out io.Writer) error {
	if err := groupHelp(args, out, configUsage); err != nil {
		return err
	}
	if len(args) > 0 && args[0] == "udev" {
		fs := newFlags("config udev", "config udev > /etc/udev/rules.d/"+udev.FileName)
		if pos, err := fs.parse(args[1:], out); err != nil || len(pos) > 0 {
			return errors.Join(err, fs.usageError("config udev takes no arguments"))
		}
		_, err := out.Write(udev.Rules())
		return err
	}
	if len(args) > 0 && args[0] == "check" {
		fs := newFlags("config check", "config check FILE")
		pos, err := fs.parse(args[1:], out)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return fs.usageError("give the config file to check")
		}
		cfg, err := config.Load(pos[0])
		if err != nil {
			return usageError{err}
		}
		fmt.Fprintf(out, "Config %s: what the ceremony will do\n", pos[0])
		if _, _, err := cfg.Check(out, time.Now()); err != nil {
			return usageError{fmt.Errorf("the ceremony would stop: %w", err)}
		}
		fmt.Fprintln(out, "Ready. (Nothing was signed in; no key or TPM was opened.)")
		return nil
	}
	if len(args) == 0 || args[0] != "init" {
		return usageError{errors.New(configUsage)}
	}
	fs := newFlags("config init", "config init [--out ceremony.jsonc]")
	dest := fs.String("out", "ceremony.jsonc", "where to write the example (never overwritten)")
	if _, err := fs.parse(args[1:], out); err != nil {
		return err
	}
	f, err := os.OpenFile(*dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return usageError{fmt.Errorf("write the example config: %w", err)}
	}
	if _, err := f.Write(config.Example()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(out, "Wrote %s: fill in the tenant, the app registration, the account and the officers, then run\n  keyceremony ceremony --config %s\n", *dest, *dest)
	return nil
}

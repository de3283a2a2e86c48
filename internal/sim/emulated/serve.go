package emulated

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Serve runs the emulated tenant of o until ctx ends, for clients outside
// this process: it writes the emulator's CA beside the app certificate in
// o.Dir (a new temporary directory when empty) and tells out the sign-in
// flags and the client secret that reach it.
func Serve(ctx context.Context, o Options, out io.Writer) error {
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "keyceremony-graph-emulator-")
		if err != nil {
			return err
		}
		o.Dir = d
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("the emulator's folder (--dir) %s: %w", o.Dir, err)
	}
	ten, err := Start(o)
	if err != nil {
		return err
	}
	defer ten.Close()
	caPath := filepath.Join(o.Dir, "emulator-ca.pem")
	// Whole or not at all (a restart rewrites the same CA over the file
	// clients read).
	if err := os.WriteFile(caPath+".tmp", ten.Emu.CAPEM(), 0o644); err != nil {
		return fmt.Errorf("write the emulator's CA: %w", err)
	}
	if err := os.Rename(caPath+".tmp", caPath); err != nil {
		return fmt.Errorf("write the emulator's CA: %w", err)
	}
	fmt.Fprintf(out, "Graph emulator (TEST tenant) at %s\n", ten.Emu.URL())
	fmt.Fprintf(
		out,
		"  --tenant %s --client-id %s --auth certificate --cert %s \\\n  --authority %s/ --graph %s --ca %s\n",
		ten.TenantID,
		AppID,
		ten.CertPath,
		ten.Emu.URL(),
		ten.Emu.URL(),
		caPath,
	)
	fmt.Fprintf(
		out,
		"The emulated app's client secret (TEST tenant only), for clients that use one:\n  client_secret=%s\n",
		ten.Secret,
	)
	fmt.Fprintln(out, "Ctrl-C stops it.")
	<-ctx.Done()
	return nil
}

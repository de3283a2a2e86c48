package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/internal/sim/emulated"
	"github.com/keyceremony/keyceremony/internal/sim/graphemu"
)

// graphFlags are the sign-in and endpoint flags of every Graph command.
type graphFlags struct {
	tenant, clientID, mode, cert, secretFile, authority, root, caFile string
}

func (g *graphFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.tenant, "tenant", "", "Entra tenant ID")
	fs.StringVar(&g.clientID, "client-id", "", "app registration (client) ID")
	fs.StringVar(&g.mode, "auth", enroll.SignInDeviceCode, "sign-in: device-code, browser, certificate or secret")
	fs.StringVar(&g.cert, "cert", "", "app certificate and key (PEM), for --auth certificate")
	fs.StringVar(&g.secretFile, "client-secret-file", "", "file holding the app's client secret, for --auth secret (or set "+enroll.SecretEnv+")")
	fs.StringVar(&g.authority, "authority", "", "sign-in authority (default Entra's; the Graph emulator's URL for rehearsals)")
	fs.StringVar(&g.root, "graph", enroll.DefaultRoot, "Graph endpoint (the emulator's URL for rehearsals)")
	fs.StringVar(&g.caFile, "ca", "", "trust this CA (PEM) for Graph and sign-in: the emulator's")
}

// signIn signs in as the flags say and returns a Graph client; with write
// it first checks the sign-in may write authentication methods and says
// who signed in.
func (g *graphFlags) signIn(ctx context.Context, stderr io.Writer, write bool) (*enroll.Client, error) {
	return enroll.Connect(ctx, enroll.AuthConfig{TenantID: g.tenant, ClientID: g.clientID, Mode: g.mode, CertificatePath: g.cert,
		SecretFile: g.secretFile, AuthorityHost: g.authority}, g.root, g.caFile, write, stderr)
}

// cmdGraphEmulator serves the local Graph emulator until interrupted.
func cmdGraphEmulator(ctx context.Context, fs *flags, args []string, s stdio) error {
	out := s.out
	listen := fs.String("listen", "127.0.0.1:8443", "loopback address to serve on")
	statePath := fs.String("state", "", "keep the emulated tenant in this file across restarts")
	dir := fs.String("dir", "", "write the CA and the app certificate here (default: a new temporary directory)")
	if err := fs.noArgs(args, s); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "keyceremony-graph-emulator-")
		if err != nil {
			return err
		}
		*dir = d
	}
	ten, err := emulated.Start(emulated.Options{Dir: *dir, Emulator: graphemu.Config{StatePath: *statePath}, Listen: *listen})
	if err != nil {
		return err
	}
	defer ten.Close()
	caPath := filepath.Join(*dir, "emulator-ca.pem")
	if err := os.WriteFile(caPath, ten.Emu.CAPEM(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "Graph emulator (TEST tenant) at %s\n", ten.Emu.URL())
	fmt.Fprintf(out, "  --tenant %s --client-id %s --auth certificate --cert %s \\\n  --authority %s/ --graph %s --ca %s\n",
		ten.TenantID, emulated.AppID, ten.CertPath, ten.Emu.URL(), ten.Emu.URL(), caPath)
	fmt.Fprintf(out, "The emulated app's client secret (TEST tenant only), for clients that use one:\n  client_secret=%s\n", ten.Secret)
	fmt.Fprintln(out, "Ctrl-C stops it.")
	<-ctx.Done()
	return nil
}

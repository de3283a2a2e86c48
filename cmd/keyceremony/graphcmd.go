package main

import (
	"context"
	"io"

	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/internal/cli"
)

// graphSignIn is the sign-in and endpoint flags of every Graph command.
type graphSignIn struct {
	tenant, clientID, mode, cert, secretFile, authority, root, caFile string
}

// graphFlags defines the sign-in and endpoint flags on fs.
func graphFlags(fs *cli.Flags) *graphSignIn {
	var g graphSignIn
	fs.StringVar(&g.tenant, "tenant", "", "Entra tenant ID")
	fs.StringVar(&g.clientID, "client-id", "", "app registration (client) ID")
	fs.StringVar(&g.mode, "auth", enroll.SignInDeviceCode, "sign-in: device-code, browser, certificate or secret")
	fs.StringVar(&g.cert, "cert", "", "app certificate and key (PEM), for --auth certificate")
	fs.StringVar(&g.secretFile, "client-secret-file", "", "file holding the app's client secret, for --auth secret (or set "+enroll.SecretEnv+")")
	fs.StringVar(&g.authority, "authority", "", "sign-in authority (default Entra's; the Graph emulator's URL for rehearsals)")
	fs.StringVar(&g.root, "graph", enroll.DefaultRoot, "Graph endpoint (the emulator's URL for rehearsals)")
	fs.StringVar(&g.caFile, "ca", "", "trust this CA (PEM) for Graph and sign-in: the emulator's")
	return &g
}

// signIn signs in as the flags say, checks the sign-in may write
// authentication methods, says who signed in, and returns a Graph client.
func (g *graphSignIn) signIn(ctx context.Context, stderr io.Writer) (*enroll.Client, error) {
	return enroll.Connect(ctx, enroll.AuthConfig{TenantID: g.tenant, ClientID: g.clientID, Mode: g.mode, CertificatePath: g.cert,
		SecretFile: g.secretFile, AuthorityHost: g.authority}, g.root, g.caFile, true, stderr)
}

package cli

import (
	"context"
	"io"

	"github.com/keyceremony/keyceremony/enroll"
)

// GraphSignIn is the sign-in and endpoint flags of every Graph command.
type GraphSignIn struct {
	Tenant                                                    string // --tenant
	clientID, mode, cert, secretFile, authority, root, caFile string
}

// GraphFlags defines the sign-in and endpoint flags on fs.
func GraphFlags(fs *Flags) *GraphSignIn {
	var g GraphSignIn
	fs.StringVar(&g.Tenant, "tenant", "", "Entra tenant ID")
	fs.StringVar(&g.clientID, "client-id", "", "app registration (client) ID")
	fs.StringVar(&g.mode, "auth", enroll.SignInDeviceCode, "sign-in: device-code, browser, certificate or secret")
	fs.StringVar(&g.cert, "cert", "", "app certificate and key (PEM), for --auth certificate")
	fs.StringVar(
		&g.secretFile,
		"client-secret-file",
		"",
		"file holding the app's client secret, for --auth secret (or set "+enroll.SecretEnv+")",
	)
	fs.StringVar(
		&g.authority,
		"authority",
		"",
		"sign-in authority (default Entra's; the Graph emulator's URL for rehearsals)",
	)
	fs.StringVar(&g.root, "graph", enroll.DefaultRoot, "Graph endpoint (the emulator's URL for rehearsals)")
	fs.StringVar(&g.caFile, "ca", "", "trust this CA (PEM) for Graph and sign-in: the emulator's")
	return &g
}

// SignIn signs in as the flags say and returns a Graph client. With write,
// it first checks the sign-in may write authentication methods and says
// who signed in; without, it is the read-only sign-in of the health check.
func (g *GraphSignIn) SignIn(ctx context.Context, write bool, stderr io.Writer) (*enroll.Client, error) {
	return enroll.Connect(
		ctx,
		enroll.AuthConfig{TenantID: g.Tenant, ClientID: g.clientID, Mode: g.mode, CertificatePath: g.cert,
			SecretFile: g.secretFile, AuthorityHost: g.authority},
		g.root,
		g.caFile,
		write,
		stderr,
	)
}

package sitting

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/config"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/tui"
	"github.com/keyceremony/keyceremony/workstation"
)

// Options says which config a session opens and how.
type Options struct {
	ConfigPath string
	// Backend, when set, overrides the config's CTAP backend.
	Backend string
	// Terminal refuses the session unless the officers sit at a terminal
	// (the ceremony: nothing is opened without one).
	Terminal bool
	// Tool is the build that signs the reports.
	Tool report.Tool
	// Notice hears what the officers must know before anything is done:
	// a software key made new because none was at its path. Required.
	Notice io.Writer
}

// Session is an opened config: its accounts, the keys' backend, the
// attestation verifier and the workstation key, and, once signed in, Graph.
type Session struct {
	opts     Options
	cfg      *config.File
	backend  fidokey.Backend
	devices  fidokey.HID // the keys, through backend
	accounts []Account
	verifier *attest.Verifier
	signer   workstation.Signer
	graph    *enroll.Client
	close    func() error
}

// Open opens the session o names. Close it when done.
func Open(o Options) (*Session, error) {
	if o.Notice == nil {
		return nil, errors.New("session: Options.Notice is required (the officers must hear of a new workstation key)")
	}
	cfg, err := config.Load(o.ConfigPath)
	if err != nil {
		return nil, err
	}
	if o.Backend != "" {
		cfg.Backend = o.Backend
	}
	s := &Session{opts: o, cfg: cfg}
	if s.backend, err = fidokey.ParseBackend(cfg.Backend); err != nil {
		return nil, err
	}
	s.devices = fidokey.HID{Fixed: cfg.Devices, Backend: s.backend}
	if o.Terminal && !tui.IsTerminal() {
		return nil, errors.New(
			"a real ceremony needs the officers at a terminal " +
				"(use `keyceremony rehearse --yes` for a headless rehearsal)",
		)
	}
	// Everything config check would name, at once, before anything is
	// opened; the accounts and the verifier are what it loaded.
	if s.accounts, s.verifier, err = Check(cfg, io.Discard, time.Now(), false); err != nil {
		return nil, fmt.Errorf("%w\n(keyceremony config check %s shows what the ceremony would do)", err, o.ConfigPath)
	}
	if s.signer, s.close, err = workstation.Open(cfg.TPM, cfg.SoftwareKey, o.Notice); errors.Is(
		err,
		workstation.ErrNoTPM,
	) {
		return nil, fmt.Errorf(`%w: set "software_key": "FILE" in the config file`, err)
	} else if err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes the workstation key.
func (s *Session) Close() error { return s.close() }

// signIn signs in to Graph as the config says; the health check signs in
// read-only (write false).
func (s *Session) signIn(ctx context.Context, write bool, notice io.Writer) error {
	c := s.cfg
	mode, root := c.Auth, c.Graph
	if mode == "" {
		mode = enroll.SignInDeviceCode
	}
	var err error
	s.graph, err = enroll.Connect(
		ctx,
		enroll.AuthConfig{TenantID: c.TenantID, ClientID: c.ClientID, Mode: mode, CertificatePath: c.Certificate,
			SecretFile: c.ClientSecret, AuthorityHost: c.Authority},
		root,
		c.CA,
		write,
		notice,
	)
	return err
}

// hostname names this workstation in the reports.
func hostname() string {
	host, _ := os.Hostname()
	return host
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/config"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/workstation"
)

// backendFlag defines the --backend flag of the commands that open keys.
func backendFlag(fs *flag.FlagSet) *string {
	return fs.String("backend", "", "CTAP backend: native (default) or libfido2 (a -tags libfido2 build); overrides the config's backend")
}

// session is what the ceremony and the health check open from the config
// file, in this order, each refused with its own message before the next:
// the config, the keys' backend, the officers' terminal (the ceremony
// only: nothing is opened without it), every problem config check names,
// the accounts, the attestation
// verifier and the workstation key; then, by signIn, Graph.
type session struct {
	cfg      *config.File
	backend  fidokey.Backend
	accounts []ceremony.SittingAccount
	verifier *attest.Verifier
	signer   workstation.Signer
	graph    *enroll.Client
	close    func() error
}

// openSession opens the session of the config at cfgPath; backendName,
// when set, overrides the config's backend. Close the session when done.
func openSession(cfgPath, backendName string, needTerminal bool) (*session, error) {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, usageError{err}
	}
	if backendName != "" {
		cfg.Backend = backendName
	}
	s := &session{cfg: cfg, close: func() error { return nil }}
	if s.backend, err = fidokey.ParseBackend(cfg.Backend); err != nil {
		return nil, usageError{err}
	}
	if needTerminal && !isTerminal() {
		return nil, usageError{errors.New("a real ceremony needs the officers at a terminal (use `keyceremony rehearse --yes` for a headless rehearsal)")}
	}
	// Everything config check would name, at once, before anything is
	// opened; the accounts and the verifier are what it loaded.
	if s.accounts, s.verifier, err = cfg.Check(io.Discard, time.Now()); err != nil {
		return nil, usageError{fmt.Errorf("%w\n(keyceremony config check %s shows what the ceremony would do)", err, cfgPath)}
	}
	if s.signer, s.close, err = openSigner(cfg.TPM, cfg.SoftwareKey, softwareKeyConfigHint); err != nil {
		return nil, usageError{err}
	}
	return s, nil
}

// signIn signs in to Graph as the config says; the health check signs in
// read-only (write false).
func (s *session) signIn(ctx context.Context, write bool, errOut io.Writer) error {
	g := configGraphFlags(s.cfg)
	var err error
	if s.graph, err = g.signIn(ctx, errOut, write); err != nil {
		return usageError{err}
	}
	return nil
}

// openSigner opens the workstation key; hint says how this command
// chooses a software key when there is no TPM (a flag or a config key).
func openSigner(tpmPath, softwareKey, hint string) (workstation.Signer, func() error, error) {
	s, closeFn, err := workstation.Open(tpmPath, softwareKey)
	if errors.Is(err, workstation.ErrNoTPM) {
		return s, nil, fmt.Errorf("%w: %s", err, hint)
	}
	return s, closeFn, err
}

// Where each command takes a software key from.
const (
	softwareKeyFlagHint   = "give --software-key FILE"
	softwareKeyConfigHint = `set "software_key": "FILE" in the config file`
)

package simkey_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/internal/ctaphid"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
	"github.com/keyceremony/keyceremony/internal/sim/conformance"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
)

type bench struct {
	t      testing.TB
	key    *simkey.Key
	clock  *conformance.Clock
	client ctap.Authenticator
	dev    *hid.Device
	events []ctap.Keepalive
	evMu   sync.Mutex
	opts   ctap.Options
	idle   time.Duration
}

func newBench(t testing.TB, cfg simkey.Config, opts ctap.Options) *bench {
	t.Helper()
	key, clock := conformance.NewKey(t, cfg)
	b := &bench{t: t, key: key, clock: clock, opts: opts, idle: 2 * time.Second}
	b.connect()
	return b
}

// connect opens a fresh client over the full stack (after a replug, say).
func (b *bench) connect() {
	b.t.Helper()
	if b.dev != nil {
		b.dev.Close()
	}
	opts := b.opts
	opts.OnKeepalive = func(k ctap.Keepalive) { b.evMu.Lock(); b.events = append(b.events, k); b.evMu.Unlock() }
	c, dev, err := b.key.Open(context.Background(), hid.Options{IdleTimeout: b.idle}, opts)
	if err != nil {
		b.t.Fatal(err)
	}
	b.client, b.dev = c, dev
	b.t.Cleanup(func() { dev.Close() })
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// TestInitAnnouncesCBOR checks the CTAPHID INIT reply (getInfo's contents
// are checked by the conformance suite).
func TestInitAnnouncesCBOR(t *testing.T) {
	b := newBench(t, simkey.Config{}, ctap.Options{})
	if b.dev.Info().Capabilities&ctaphid.CapCBOR == 0 {
		t.Error("INIT did not announce CBOR")
	}
}

func TestPingAndWink(t *testing.T) {
	b := newBench(t, simkey.Config{}, ctap.Options{})
	big := bytes.Repeat([]byte("keyceremony "), 400) // 4800 bytes: many continuation packets
	if err := b.dev.Ping(ctx(t), big); err != nil {
		t.Fatal(err)
	}
	if err := b.dev.Wink(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// TestResetKeepalives checks the key says UPNEEDED while a reset waits for
// its touch (the reset rules themselves are in the conformance suite).
func TestResetKeepalives(t *testing.T) {
	b := newBench(t, simkey.Config{}, ctap.Options{})
	if err := b.client.Reset(ctx(t)); err != nil {
		t.Fatal(err)
	}
	b.evMu.Lock()
	defer b.evMu.Unlock()
	if len(b.events) == 0 || b.events[0] != ctap.KeepaliveUserPresence {
		t.Errorf("keepalives %v: no UPNEEDED while waiting for the touch", b.events)
	}
}

func TestTouchTimeoutAndCancel(t *testing.T) {
	b := newBench(t, simkey.Config{TouchTimeout: 300 * time.Millisecond}, ctap.Options{})
	b.key.SetPresence(simkey.PresenceIgnore)
	if err := b.client.Selection(ctx(t)); !errors.Is(err, ctapwire.StatusUserActionTimeout) {
		t.Fatalf("untouched selection: %v", err)
	}
	b.key.SetPresence(simkey.PresenceManual)
	cctx, cancel := context.WithCancel(ctx(t))
	go func() {
		for {
			b.evMu.Lock()
			n := len(b.events)
			b.evMu.Unlock()
			if n > 0 {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	b.evMu.Lock()
	b.events = nil
	b.evMu.Unlock()
	err := b.client.Selection(cctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled selection: %v", err)
	}
	// The channel is clean afterwards.
	if _, err := b.client.Info(ctx(t)); err != nil {
		t.Fatalf("getInfo after cancel: %v", err)
	}
	// Manual touch completes a selection.
	go func() { time.Sleep(50 * time.Millisecond); b.key.Touch() }()
	if err := b.client.Selection(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

func TestStateFileSurvivesRestart(t *testing.T) {
	path := t.TempDir() + "/simkey.json"
	b := newBench(t, simkey.Config{StatePath: path}, ctap.Options{})
	c := ctx(t)
	pin := []byte("1234")
	b.client.SetPIN(c, pin)
	res := conformance.Register(t, b.client, pin, "login.microsoft.com", []byte("u"), true)
	b.dev.Close()
	b2 := newBench(t, simkey.Config{StatePath: path}, ctap.Options{})
	tok, err := b2.client.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermCredentialManagement})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := b2.client.Credentials(c, tok, hash("login.microsoft.com"))
	ad, _ := ctap.ParseAuthData(res.AuthData)
	if err != nil || len(creds) != 1 || !bytes.Equal(creds[0].CredentialID.ID, ad.CredentialID) {
		t.Fatalf("%+v %v", creds, err)
	}
}

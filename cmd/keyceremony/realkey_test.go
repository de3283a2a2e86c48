package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
)

// TestRealKeyReadOnly talks to a real authenticator, read-only (INIT, PING,
// WINK, getInfo, PIN retries). Opt-in: set KEYCEREMONY_REAL_KEY to a device
// address, e.g. KEYCEREMONY_REAL_KEY=hidraw:/dev/hidraw3. It never sends a
// PIN, never resets, never creates a credential.
func TestRealKeyReadOnly(t *testing.T) {
	addr := os.Getenv("KEYCEREMONY_REAL_KEY")
	if addr == "" {
		t.Skip("opt-in: set KEYCEREMONY_REAL_KEY=hidraw:/dev/hidrawN to test against a real key")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, dev, err := openNative(ctx, addr, ctap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if err := dev.Ping(ctx, []byte("keyceremony real-key ping")); err != nil {
		t.Fatal(err)
	}
	_ = dev.Wink(ctx) // not every key winks
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Versions) == 0 || info.AAGUID.IsZero() {
		t.Fatalf("getInfo %+v", info)
	}
	firmware := "not reported"
	if info.FirmwareVersion != nil {
		firmware = info.FirmwareText()
	}
	t.Logf("real key %s: AAGUID %s firmware %s versions %v options %v", addr, info.AAGUID, firmware, info.Versions, info.Options)
	if set, _ := info.Option("clientPin"); set {
		n, pc, err := c.PINRetries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("PIN retries %d, power cycle needed %v", n, pc)
	}
}

// openNative opens a key address through the native stack (CTAPHID, then
// the CTAP client), as the tests that drive a key byte by byte need it.
func openNative(ctx context.Context, addr string, opts ctap.Options) (ctap.Authenticator, *hid.Device, error) {
	dev, err := hid.Open(ctx, addr, hid.Options{})
	if err != nil {
		return nil, nil, err
	}
	return ctap.NewClient(dev, opts), dev, nil
}

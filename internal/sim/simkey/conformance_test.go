package simkey_test

import (
	"context"
	"testing"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/internal/sim/conformance"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
)

// nativeBackend is the native Go client over the full CTAPHID stack, with
// PIN/UV auth protocol proto.
func nativeBackend(proto int) conformance.Backend {
	return conformance.Backend{
		Name: "native",
		Connect: func(t testing.TB, key *simkey.Key, floor int) ctap.Authenticator {
			t.Helper()
			c, dev, err := key.Open(context.Background(), hid.Options{}, ctap.Options{RetryFloor: floor, PINProtocol: proto})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { dev.Close() })
			return c
		},
	}
}

func TestNativeBackendConformance(t *testing.T) {
	t.Run("protocol2", func(t *testing.T) { conformance.Run(t, nativeBackend(2)) })
	t.Run("protocol1", func(t *testing.T) { conformance.Run(t, nativeBackend(1)) })
}

package fidokey

import (
	"context"
	"strings"
	"testing"
)

func TestBackendChoice(t *testing.T) {
	if b, err := ParseBackend(""); err != nil || b.backendName() != nativeBackend || b.Deviations() != nil {
		t.Fatalf("default backend %+v %v", b, err)
	}
	if _, err := ParseBackend("pcsc"); err == nil {
		t.Fatal("an unknown backend was accepted")
	}
	b, err := ParseBackend(libfido2Backend)
	if !libfido2Built {
		if err == nil || !strings.Contains(err.Error(), "-tags libfido2") {
			t.Fatalf("libfido2 in a build without it: %v", err)
		}
		return
	}
	if err != nil || len(b.Deviations()) != 1 {
		t.Fatalf("libfido2 backend %+v %v", b, err)
	}
	if _, _, err := b.open(context.Background(), "simkey:/tmp/x.sock", nil); err == nil || !strings.Contains(err.Error(), "hidraw devices only") {
		t.Fatalf("libfido2 on a simkey socket: %v", err)
	}
}

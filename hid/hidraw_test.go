package hid

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A FIFO stands in for a hidraw node (no machine here has one): it checks
// the report-ID byte on writes and the poller-based cancellation of reads.
func TestHidrawFraming(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hidraw-fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("SKIPPED LOUDLY: cannot make a FIFO here: %v", err)
	}
	h, err := openHidraw(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	peer, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	report := make([]byte, reportSize)
	for i := range report {
		report[i] = byte(i + 1)
	}
	if err := h.WriteReport(context.Background(), report); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 100)
	n, err := peer.Read(got)
	if err != nil || n != reportSize+1 || got[0] != 0 || got[1] != 1 || got[reportSize] != reportSize {
		t.Fatalf("wrote %d bytes %x, want report ID 0 then the 64-byte report (%v)", n, got[:n], err)
	}
	if err := h.WriteReport(context.Background(), report[:10]); err == nil {
		t.Fatal("short report written")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := h.ReadReport(ctx, got); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read with nothing to read: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("read did not honour the context deadline")
	}
	if h.String() != "hidraw:"+path {
		t.Fatal(h.String())
	}
}

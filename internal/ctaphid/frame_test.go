package ctaphid

import (
	"bytes"
	"errors"
	"testing"
)

func TestFragmentReassembleRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, initPayload, initPayload + 1, initPayload + contPayload, 1200, MaxMessageSize} {
		data := bytes.Repeat([]byte{0xa5}, n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		pkts, err := Fragment(0x01020304, CmdCBOR, data, MaxMessageSize)
		if err != nil {
			t.Fatal(err)
		}
		r := NewReassembler(MaxMessageSize)
		for i, p := range pkts {
			if len(p) != ReportSize {
				t.Fatalf("packet of %d bytes", len(p))
			}
			done, cid, cmd, got, err := r.Add(p)
			if err != nil {
				t.Fatal(err)
			}
			if done != (i == len(pkts)-1) {
				t.Fatalf("n=%d: done=%v at packet %d of %d", n, done, i, len(pkts))
			}
			if done && (cid != 0x01020304 || cmd != CmdCBOR || !bytes.Equal(got, data)) {
				t.Fatalf("n=%d: reassembled %d bytes on %08x %v", n, len(got), cid, cmd)
			}
		}
	}
}

func TestFragmentRefusesOversize(t *testing.T) {
	if _, err := Fragment(1, CmdCBOR, make([]byte, MaxMessageSize+1), MaxMessageSize); err == nil {
		t.Fatal("oversize message fragmented")
	}
	if _, err := Fragment(1, CmdCBOR, make([]byte, 1201), 1200); err == nil {
		t.Fatal("message above the peer's limit fragmented")
	}
}

func TestReassemblerRejectsBadSequences(t *testing.T) {
	pkts, _ := Fragment(7, CmdCBOR, make([]byte, 200), MaxMessageSize)
	r := NewReassembler(MaxMessageSize)
	if _, _, _, _, err := r.Add(pkts[1]); !errors.Is(err, ErrMalformedPacket) {
		t.Fatalf("continuation first: %v", err)
	}
	r.Add(pkts[0])
	if _, _, _, _, err := r.Add(pkts[2]); !errors.Is(err, ErrMalformedPacket) {
		t.Fatalf("skipped sequence: %v", err)
	}
	other, _ := Fragment(8, CmdCBOR, make([]byte, 200), MaxMessageSize)
	r.Add(pkts[0])
	if _, _, _, _, err := r.Add(other[1]); !errors.Is(err, ErrMalformedPacket) {
		t.Fatalf("continuation of another channel: %v", err)
	}
	small := NewReassembler(100)
	if _, _, _, _, err := small.Add(pkts[0]); !errors.Is(err, ErrMalformedPacket) {
		t.Fatalf("announced length over the limit: %v", err)
	}
	if _, _, _, _, err := r.Add(make([]byte, 10)); !errors.Is(err, ErrMalformedPacket) {
		t.Fatalf("short report: %v", err)
	}
}

func TestErrorCodesSaySomething(t *testing.T) {
	for _, c := range []ErrorCode{ErrInvalidCmd, ErrChannelBusy, ErrInvalidChannel, 0x55} {
		if c.Error() == "" {
			t.Errorf("code %x has no text", byte(c))
		}
	}
}

// FuzzReassemble feeds arbitrary reports: the reassembler must never panic,
// never return more than it announced, and never exceed its limit.
func FuzzReassemble(f *testing.F) {
	pkts, _ := Fragment(9, CmdCBOR, bytes.Repeat([]byte{1}, 150), MaxMessageSize)
	var seed []byte
	for _, p := range pkts {
		seed = append(seed, p...)
	}
	f.Add(seed)
	f.Add(make([]byte, ReportSize))
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := NewReassembler(1200)
		for len(stream) > 0 {
			n := min(len(stream), ReportSize)
			done, _, _, data, err := r.Add(stream[:n])
			stream = stream[n:]
			if err != nil {
				continue
			}
			if done && len(data) > 1200 {
				t.Fatalf("message of %d bytes past the 1200 limit", len(data))
			}
		}
	})
}

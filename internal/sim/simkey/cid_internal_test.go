package simkey

import (
	"testing"

	"github.com/keyceremony/keyceremony/internal/ctaphid"
)

// Channel IDs are not a count from 1: a recorded YubiKey 5 answered its
// first INIT with 0x00220002 (CTAP 2.1 §11.2.9.1.3 leaves the choice to the
// key). simkey hands out random, distinct IDs, never 0 or the broadcast one.
func TestChannelIDsAreRandomAndDistinct(t *testing.T) {
	k, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	sequential := 0
	var prev uint32
	for i := 0; i < 200; i++ {
		cid := k.allocateCID()
		if cid == 0 || cid == ctaphid.BroadcastCID || seen[cid] {
			t.Fatalf("allocation %d: channel %08x (zero, broadcast or reused)", i, cid)
		}
		if cid == prev+1 {
			sequential++
		}
		seen[cid], prev = true, cid
		if !k.knownCID(cid) {
			t.Fatalf("channel %08x handed out but not known", cid)
		}
	}
	if sequential > 2 {
		t.Errorf("%d of 200 channel IDs followed their predecessor: a counter, not random", sequential)
	}
}

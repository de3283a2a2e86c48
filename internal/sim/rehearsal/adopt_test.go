package rehearsal_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/internal/sim/graphemu"
)

// Killed between key 1's POST and its journal line, the resumed ceremony
// adopts a method only when it holds key 1's credential (issue 24 §1/§4):
// here the method with key 1's display name holds another credential
// (Graph lists registered credentials in the creation options'
// excludeCredentials), so it is a conflict named to the officers, never
// adopted, and nothing is registered.
func TestResumeDoesNotAdoptAMethodByNameAlone(t *testing.T) {
	b := newBench(t)
	kg := &killingGraph{Graph: b.tenant.Client, killAfterRegister: true}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(killed); !ok {
					panic(r)
				}
			}
		}()
		b.engine(kg, false).Run(context.Background())
		t.Fatal("the process was not killed")
	}()
	before := b.methods()
	if len(before) != 2 {
		t.Fatalf("%d methods after the kill", len(before))
	}
	newest := before[len(before)-1].ID
	b.tenant.Emu.Update(func(s *graphemu.State) {
		for _, m := range s.Methods[b.userID] {
			if m.ID == newest {
				m.CredentialID = "c29tZW9uZSBlbHNlJ3Mga2V5" // someone else's key, under key 1's name
			}
		}
	})
	_, err := b.engine(nil, true).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "another key's") {
		t.Fatalf("resume with key 1's name on another credential: %v", err)
	}
	after := b.methods()
	if len(after) != 2 || after[len(after)-1].ID != newest {
		t.Fatalf("methods changed: %+v", after)
	}
}

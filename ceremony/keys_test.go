package ceremony

import (
	"strings"
	"testing"
)

// The default number of keys (2) is the config's, resolved once at load:
// an engine given no number refuses rather than guessing one.
func TestEngineNeedsANumberOfKeys(t *testing.T) {
	for _, n := range []int{0, -1} {
		_, err := New(Config{OfficerA: "A", OfficerB: "B", Keys: n}, nil, nil, nil, nil)
		if err == nil || !strings.Contains(err.Error(), "at least one key (config keys)") {
			t.Errorf("Keys %d: %v", n, err)
		}
	}
	if got := (Config{Keys: 3}).StepCount(); got != 1+3*len(keySteps)+1 {
		t.Errorf("3 keys: %d steps", got)
	}
}

package ceremony

import (
	"fmt"
	"testing"
)

// Issue 30's wording: "an 8-digit", "a 10-digit"; "retire the old key" for
// one key, "keys" for more.
func TestWordingArticleAndPlural(t *testing.T) {
	for n, want := range map[int]string{4: "a 4-digit", 6: "a 6-digit", 8: "an 8-digit", 10: "a 10-digit", 11: "an 11-digit",
		18: "an 18-digit", 20: "a 20-digit"} {
		if got := fmt.Sprintf("%s %d-digit", article(n), n); got != want {
			t.Errorf("%d: %q, want %q", n, got, want)
		}
	}
	if plural(1, "key", "keys") != "key" || plural(2, "key", "keys") != "keys" || plural(0, "key", "keys") != "keys" {
		t.Error("plural")
	}
}

package keyname

import (
	"strings"
	"testing"
	"time"
)

var day = time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)

// The default names say account slot, key and year and fit Entra's 30
// characters with the model cut at a word (issue 26 §1's own example);
// the old default ("Break glass key 1 (YubiKey 5 Series with NFC,
// 2026-01-02)", 53 characters) is what Entra refused.
func TestDefaultNamesFitAndSayWhatTheyAre(t *testing.T) {
	for _, c := range []struct {
		account, n  int
		model, want string
	}{
		{1, 1, "YubiKey 5 Series with NFC", "BG1 key 1 2026 YubiKey 5"},
		{1, 2, "YubiKey 5 NFC", "BG1 key 2 2026 YubiKey 5 NFC"},
		{12, 10, "YubiKey 5 Series with NFC", "BG12 key 10 2026 YubiKey 5"},
		{1, 1, "", "BG1 key 1 2026"},
		{1, 1, "Supercalifragilisticexpialidocious", "BG1 key 1 2026 Supercalifragil"},
		{1, 1, "Security Key NFC by Yubico - Enterprise Edition", "BG1 key 1 2026 Security Key"},
	} {
		got := Render("", c.account, c.n, c.model, day)
		if got != c.want {
			t.Errorf("Render(%d, %d, %q) = %q, want %q", c.account, c.n, c.model, got, c.want)
		}
		if Len(got) > MaxLen || Len(got) < MinLen {
			t.Errorf("%q is %d characters", got, Len(got))
		}
	}
	if err := Check("", 9, 9); err != nil {
		t.Fatalf("the default pattern: %v", err)
	}
}

// A configured pattern that cannot fit, names every key alike or uses an
// unknown placeholder is refused with the reason; one that fits is taken.
func TestCheckRefusesPatternsEntraWouldRefuse(t *testing.T) {
	for pattern, want := range map[string]string{
		"Break glass key {n} ({model}, {date})":   "at most 30", // "Break glass key 2 (, 2026-12-31)" is 32
		"Emergency access account key {n} {date}": "at most 30",
		"Break glass {model}":                     "same name",
		"BG {n} {serial}":                         "{serial} is not a placeholder",
		"{n}":                                     "at least 3",
		"BG\t{n}":                                 "control character",
		"BG{n}{model}":                            "space before {model}",
		"BG {model} {n}":                          "put {n} before {model}",
		"BG {n} {model} {model}":                  "once",
	} {
		err := Check(pattern, 1, 2)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", pattern, err, want)
		}
	}
	for _, ok := range []string{"BG{account}-{n} {model}", "Break glass {n} {year}", "BG key {n} {date} {model}"} {
		if err := Check(ok, 2, 2); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
		if got := Render(ok, 2, 2, "YubiKey 5 Series with NFC", day); Len(got) > MaxLen {
			t.Errorf("%q renders %q", ok, got)
		}
	}
	// A sitting of ten accounts makes "BG10": a pattern just fitting for
	// one account can be too long for ten.
	edge := "Breakglass{account} key {n} of {year}xxxxx"
	if err := Check(edge, 1, 2); err != nil {
		t.Fatalf("%q for one account: %v", edge, err)
	}
	if err := Check(edge, 10, 2); err == nil {
		t.Fatalf("%q for ten accounts was accepted", edge)
	}
}

// Length is counted as .NET counts a string (UTF-16 code units): an emoji
// is two.
func TestLenCountsAsDotNet(t *testing.T) {
	if Len("abc") != 3 || Len("é") != 1 || Len("🔑") != 2 {
		t.Fatal(Len("🔑"))
	}
	got := Render("Schlüssel {n} {model}", 1, 1, "🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑", day)
	if Len(got) > MaxLen {
		t.Fatalf("%q is %d UTF-16 units", got, Len(got))
	}
}

// FuzzPattern: a pattern from a policy file that Check accepts names every
// key of every account, whatever the model, within MinLen..MaxLen and
// without a control character.
func FuzzPattern(f *testing.F) {
	for _, p := range []string{Default, "Break glass key {n} ({model}, {date})", "BG{account}-{n} {model}", "{model}", "x{n}{{model}}"} {
		f.Add(p, "YubiKey 5 Series with NFC", 2, 3)
	}
	f.Fuzz(func(t *testing.T, pattern, model string, accounts, keys int) {
		accounts, keys = 1+abs(accounts)%20, 1+abs(keys)%20
		if Check(pattern, accounts, keys) != nil {
			return
		}
		names := map[string]bool{}
		for n := 1; n <= keys; n++ {
			name := Render(pattern, accounts, n, model, day)
			if Len(name) > MaxLen {
				t.Fatalf("%q renders %q (%d)", pattern, name, Len(name))
			}
			names[name] = true
		}
		if len(names) != keys {
			t.Fatalf("%q: %d keys, %d names", pattern, keys, len(names))
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

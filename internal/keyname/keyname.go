package keyname

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
)

// Limits of a display name Entra accepts (see the package comment).
const (
	MinLen = 3
	MaxLen = 30
)

// Default is the pattern used when the policy sets none: account slot in the
// sitting, key number, year, then as much of the model as fits, e.g.
// "BG1 key 1 2026 YubiKey 5".
const Default = "BG{account} key {n} {year} {model}"

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// known are the placeholders a pattern may use.
var known = map[string]bool{"{account}": true, "{n}": true, "{year}": true, "{date}": true, "{model}": true}

// Len is the length of s as Entra's .NET clients count it.
func Len(s string) int { return len(utf16.Encode([]rune(s))) }

// expand fills the placeholders in; spaces left doubled or dangling by an
// empty model are removed.
func expand(pattern string, account, n int, model string, date time.Time) string {
	s := strings.NewReplacer("{account}", strconv.Itoa(account), "{n}", strconv.Itoa(n),
		"{year}", strconv.Itoa(date.Year()), "{date}", date.Format(time.DateOnly), "{model}", model).Replace(pattern)
	return strings.Join(strings.Fields(s), " ")
}

// Render names key n of the account'th account of a sitting. The model is
// cut to the whole words that fit in what the rest of the name leaves of
// MaxLen (cut mid-word only when not even its first word fits). A pattern
// Check accepted always renders to MinLen..MaxLen characters.
func Render(pattern string, account, n int, model string, date time.Time) string {
	if pattern == "" {
		pattern = Default
	}
	model = strings.Join(strings.Fields(model), " ")
	if !strings.Contains(pattern, "{model}") {
		return expand(pattern, account, n, "", date)
	}
	full := expand(pattern, account, n, model, date)
	if Len(full) <= MaxLen || model == "" {
		return full
	}
	// The room the model has: what the name is without it, and the one
	// space that joins it to a neighbour.
	room := MaxLen - Len(expand(pattern, account, n, "", date)) - 1
	return expand(pattern, account, n, fit(model, room), date)
}

// fit cuts model to at most room characters, at a word boundary if it can.
func fit(model string, room int) string {
	if room <= 0 {
		return ""
	}
	words, out := strings.Fields(model), ""
	for _, w := range words {
		next := strings.TrimSpace(out + " " + w)
		if Len(next) > room {
			break
		}
		out = next
	}
	if out == "" { // not even the first word fits: cut it
		r := []rune(model)
		for len(r) > 0 && Len(string(r)) > room {
			r = r[:len(r)-1]
		}
		out = strings.TrimRightFunc(string(r), unicode.IsSpace)
	}
	return strings.TrimRight(out, " -,(")
}

// Check reports what would make Entra refuse, or the ceremony confuse, a
// name made from pattern for any of keys keys of any of accounts accounts:
// an unknown placeholder, a control character, names that would not differ
// between the keys, or a name outside MinLen..MaxLen before any model is
// added (the model is cut to fit; the rest of the name cannot be).
func Check(pattern string, accounts, keys int) error {
	if pattern == "" {
		pattern = Default
	}
	var problems []error
	for _, p := range placeholder.FindAllString(pattern, -1) {
		if !known[p] {
			problems = append(
				problems,
				fmt.Errorf("%s is not a placeholder (use {account}, {n}, {year}, {date}, {model})", p),
			)
		}
	}
	if strings.ContainsFunc(pattern, unicode.IsControl) {
		problems = append(problems, errors.New("it holds a control character"))
	}
	if keys > 1 && !strings.Contains(pattern, "{n}") {
		problems = append(problems, fmt.Errorf("%d keys would get the same name: put {n} (the key number) in it", keys))
	}
	// The model is cut to fit, so it must not run into the key number
	// ("BG1" + "0…" and "BG10" + "…" can meet): once, after {n}, after a space.
	if m := strings.Index(pattern, "{model}"); m >= 0 {
		switch {
		case strings.Count(pattern, "{model}") > 1:
			problems = append(problems, errors.New("{model} may appear once"))
		case m == 0 || !unicode.IsSpace(rune(pattern[m-1])):
			problems = append(problems, errors.New("put a space before {model}"))
		case keys > 1 && strings.Index(pattern, "{n}") > m:
			problems = append(problems, errors.New("put {n} before {model}"))
		}
	}
	// The longest name before the model: the highest numbers, a long date.
	longest := expand(pattern, max(accounts, 1), max(keys, 1), "", time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC))
	switch n := Len(longest); {
	case n > MaxLen:
		problems = append(
			problems,
			fmt.Errorf(
				"it makes names of %d characters before any model (%q): Entra takes at most %d",
				n,
				longest,
				MaxLen,
			),
		)
	case n < MinLen:
		problems = append(
			problems,
			fmt.Errorf("it makes names of %d characters without the model (%q): at least %d", n, longest, MinLen),
		)
	}
	if len(problems) > 0 {
		return fmt.Errorf("display name pattern %q: %w", pattern, errors.Join(problems...))
	}
	return nil
}

// CheckName reports a made name Entra would refuse: outside MinLen..MaxLen
// characters, or holding a control character.
func CheckName(name string) error {
	switch n := Len(name); {
	case n > MaxLen || n < MinLen:
		return fmt.Errorf("display name %q is %d characters: Entra takes %d to %d", name, n, MinLen, MaxLen)
	case strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Errorf("display name %q holds a control character", name)
	}
	return nil
}

package monitor

import (
	"testing"
)

// FuzzISODuration: an evaluation frequency from ARM is a positive duration
// or an error, never a panic; a rule whose frequency cannot be read is
// judged as "not every 15 minutes" (a finding), never passed.
func FuzzISODuration(f *testing.F) {
	for _, s := range []string{"PT5M", "PT1H", "PT15M", "PT1H30M", "P1D", "", "PT", "pt5m", "PT-5M", "PT99999999999H"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := isoDuration(s)
		if err != nil {
			d = 0 // how rules() keeps an unreadable frequency
		}
		r := rule{enabled: true, frequency: d, anyRow: true, groups: []string{"g"}}
		reason, _ := (&audit{}).judgeStatic(r)
		if (d <= 0 || d > maxFrequency) && reason == "" {
			t.Fatalf("%q: frequency %s (err %v) judged fine", s, d, err)
		}
	})
}

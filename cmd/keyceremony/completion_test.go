package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/internal/testenv"
)

// The bash completion, loaded into a real bash (the judge of the script's
// syntax and of compgen), completes commands, subcommands and flags; and
// every flag it offers is one the command accepts (the CLI exits with a
// usage error on an unknown flag), so it can never teach a slip.
func TestBashCompletion(t *testing.T) {
	bash := testenv.Tool(t, "bash", "bash")
	code, script, errOut := runCLI(t, "completion", "bash")
	if code != 0 || errOut != "" {
		t.Fatalf("completion bash: %d %q", code, errOut)
	}
	file := filepath.Join(t.TempDir(), "keyceremony.bash")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) []string {
		t.Helper()
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		cmd := exec.Command(bash, "--norc", "-c", "source "+file+"; COMP_WORDS=(keyceremony "+strings.Join(quoted, " ")+"); COMP_CWORD="+
			string(rune('0'+len(words)))+"; _keyceremony; printf '%s\\n' \"${COMPREPLY[@]}\"")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.Fields(string(out))
	}
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"rep"}, "report"},
		{[]string{"report", "ver"}, "verify"},
		{[]string{"attest", "verify", "--rp"}, "--rp-id"},
		{[]string{"health", "--rep"}, "--report"},
		{[]string{"completion", ""}, "bash"},
	} {
		if got := complete(tc.words...); strings.Join(got, " ") != tc.want {
			t.Errorf("complete %q: %q, want %q", tc.words, got, tc.want)
		}
	}
	for _, words := range [][]string{{"attest", "verify"}, {"report", "verify"}, {"health"}, {"devices"}, {"version"}} {
		for _, flag := range complete(append(words, "--")...) {
			// The flag followed by -h: a flag that takes a value eats the
			// -h, and the command then complains about something else;
			// only an unknown flag is "provided but not defined".
			args := append(append([]string(nil), words...), flag, "-h")
			if code, _, errOut := runCLI(t, args...); strings.Contains(errOut, "not defined") {
				t.Errorf("offered %s for %v, which it refuses: %d %q", flag, words, code, errOut)
			}
		}
	}
}

// Every usage line the overview and -h show agrees with the parser: each
// --flag it names is defined, and each flag a command needs is shown
// outside brackets. (The overview is what the officers read the day
// before; the flag set is what runs.)
func TestSynopsesAgreeWithTheFlags(t *testing.T) {
	if err := app().CheckSynopses(); err != nil {
		t.Fatal(err)
	}
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/internal/testenv"
)

// TestTUIUnderTmux runs the real binary's rehearsal TUI in an 80×24 tmux
// pane, reads the screen and answers as the officers would: Enter for
// instructions, y for confirmations, a PIN half typed twice. The half never
// appears on any captured screen.
func TestTUIUnderTmux(t *testing.T) {
	tmux := testenv.Tool(t, "tmux", "tmux")
	dir := t.TempDir()
	bin := filepath.Join(dir, "keyceremony")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	session := "kc" + strings.ReplaceAll(filepath.Base(dir), "-", "")
	outDir := filepath.Join(dir, "out")
	if out, err := exec.Command(tmux, "new-session", "-d", "-s", session, "-x", "80", "-y", "24",
		bin+" rehearse --out "+outDir+"; sleep 60").CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v\n%s", err, out)
	}
	defer exec.Command(tmux, "kill-session", "-t", session).Run()
	const half = "qzqzqzqz"
	send := func(keys ...string) {
		exec.Command(tmux, append([]string{"send-keys", "-t", session}, keys...)...).Run()
	}
	last, lastAction := "", time.Time{}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		screen, err := exec.Command(tmux, "capture-pane", "-p", "-t", session).Output()
		if err != nil {
			t.Fatal(err)
		}
		s := string(screen)
		if strings.Contains(s, half) {
			t.Fatalf("a PIN half is on screen:\n%s", s)
		}
		if strings.Contains(s, "Copy onto the envelope") {
			if !strings.Contains(s, "SHA256:") || !strings.Contains(s, "Rehearsal complete: 2 keys registered, 1 retired") {
				t.Fatalf("final screen:\n%s", s)
			}
			send("Enter")
			if _, err := os.Stat(filepath.Join(outDir, "report.json")); err != nil {
				t.Fatalf("no report: %v", err)
			}
			return
		}
		if strings.Contains(s, "STOPPED") {
			t.Fatalf("the ceremony stopped:\n%s", s)
		}
		if s != last || time.Since(lastAction) > 3*time.Second {
			switch {
			case strings.Contains(s, "type your half"):
				send("-l", half)
				send("Enter")
			case strings.Contains(s, ": confirm —"):
				send("y", "Enter")
			case strings.Contains(s, "Press Enter when done"):
				send("Enter")
			}
			last, lastAction = s, time.Now()
		}
		time.Sleep(150 * time.Millisecond)
	}
	screen, _ := exec.Command(tmux, "capture-pane", "-p", "-t", session).Output()
	t.Fatalf("the rehearsal did not finish under tmux; last screen:\n%s", screen)
}

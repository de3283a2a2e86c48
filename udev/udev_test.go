package udev

import (
	"regexp"
	"strings"
	"testing"
)

// A small lint: every rule line is comma-separated KEY op "value" pairs
// (udevadm verify is not in Debian 12's systemd), and both ways of
// recognising a FIDO node grant uaccess and the officers' group.
func TestRulesParse(t *testing.T) {
	pair := regexp.MustCompile(`^\s*[A-Z_]+(\{[^}]+\})?\s*(==|!=|=|\+=|:=|-=)\s*"[^"]*"\s*$`)
	var rulesLines []string
	for i, line := range strings.Split(string(Rules()), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rulesLines = append(rulesLines, line)
		for _, p := range strings.Split(line, ",") {
			if !pair.MatchString(p) {
				t.Errorf("line %d: %q is not KEY op \"value\"", i+1, p)
			}
		}
	}
	text := strings.Join(rulesLines, "\n")
	for _, want := range []string{`SUBSYSTEM!="hidraw"`, `ENV{ID_SECURITY_TOKEN}=="1"`, `TAG+="uaccess"`, `GROUP="keyceremony"`, `IMPORT{program}="/usr/lib/udev/fido_id"`, `LABEL="keyceremony_end"`} {
		if !strings.Contains(text, want) {
			t.Errorf("rules lack %s", want)
		}
	}
	if strings.Count(text, `GOTO="keyceremony_end"`) < 2 {
		t.Error("rules do not skip non-hidraw and remove events")
	}
}

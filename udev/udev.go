package udev

import _ "embed"

//go:embed 70-keyceremony.rules
var rules []byte

// Rules returns the rules file, which belongs in
// /etc/udev/rules.d/70-keyceremony.rules.
func Rules() []byte { return append([]byte(nil), rules...) }

package udev

import _ "embed"

//go:embed 70-keyceremony.rules
var rules []byte

// FileName is where the rules belong under /etc/udev/rules.d.
const FileName = "70-keyceremony.rules"

// Rules returns the rules file.
func Rules() []byte { return append([]byte(nil), rules...) }

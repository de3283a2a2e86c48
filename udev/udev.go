// Package udev ships the udev rules that let the security officers' accounts
// open FIDO hidraw nodes, so the binary can print them on a workstation that
// has no checkout.
package udev

import _ "embed"

//go:embed 70-keyceremony.rules
var rules []byte

// FileName is where the rules belong under /etc/udev/rules.d.
const FileName = "70-keyceremony.rules"

// Rules returns the rules file.
func Rules() []byte { return append([]byte(nil), rules...) }

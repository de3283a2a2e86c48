// Package udev holds the udev rule that gives the officers' group access
// to FIDO hidraw devices.
//
// In full, it ships the udev rules that let the security officers' accounts
// open FIDO hidraw nodes, so the binary can print them on a workstation that
// has no checkout.
package udev

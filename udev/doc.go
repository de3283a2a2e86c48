// Package udev ships the udev rule that lets the officers' group open FIDO
// hidraw nodes, so the binary can print it on a workstation with no checkout.
package udev

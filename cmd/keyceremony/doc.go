// Command keyceremony provisions and re-verifies the FIDO2 keys of an Entra ID
// break-glass account; this package parses flags and wires the packages.
package main

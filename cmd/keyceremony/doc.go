// Command keyceremony provisions and re-verifies the FIDO2 keys of an Entra ID
// break-glass account; this package parses flags and wires the packages.
//
// In full, it provisions and re-verifies the FIDO2 security keys of
// a Microsoft Entra ID break-glass account in a two-person key ceremony.
//
// This file only dispatches subcommands; the work lives in the packages.
package main

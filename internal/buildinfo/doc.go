// Package buildinfo says what this keyceremony binary is: version and
// revision as stamped at build time, Go version, SHA-256 and modules.
package buildinfo

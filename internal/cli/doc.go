// Package cli is the machinery of keyceremony's command line: one list of
// commands makes the overview, each group's usage, -h, dispatch and completion.
//
// So no usage text can tell of a command or flag that is not there. Exit
// codes are 0 ok, 1 refused or a finding, 2 could not run; a panic is an
// error message, never a stack trace. (No CLI library fits: they bring
// their own flag syntax or command model; this one keeps Go's flag
// package, which the commands use as is.)
package cli

// Package session runs a real sitting from a config file: the ceremony,
// or the health check, of each account it names, at the officers' terminal.
//
// It opens, in this order and each refused with its own message before the
// next: the config, the keys' backend, the officers' terminal, every
// problem `config check` would name, the workstation key and the Graph
// sign-in. The rehearsal's twin, on simulated keys and an emulated tenant,
// is internal/sim/rehearsal.
package session

// Package sitting runs a sitting: one or several break-glass accounts, each
// with its ceremony or health check, from the config's day-before checks to
// the signed summary of the sitting.
//
// A real sitting opens, in this order and each refused with its own message
// before the next: the config, the keys' backend, the officers' terminal,
// every problem `config check` would name, the workstation key and the Graph
// sign-in. The rehearsal (internal/sim/rehearsal) runs the same sitting on
// simulated keys and an emulated tenant.
package sitting

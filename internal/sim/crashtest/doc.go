// Package crashtest is the kill -9 crash test (issue 24): real separate
// processes — `keyceremony simkey serve --state` for every key,
// `keyceremony graph-emulator --state` for the tenant — and the process
// that provisions them SIGKILLed after the Nth journal line or the Nth
// write the tenant kept, then run again as it said, until it finishes.
// After every run the invariants are judged from the keys' and the
// tenant's own state files, never from what the program printed.
//
// It has no code of its own outside its test: `go test ./internal/sim/crashtest`
// runs a seeded, bounded sample; KEYCEREMONY_CRASH_N=500 (and
// KEYCEREMONY_CRASH_SEED) runs every kill point and then random double kills.
package crashtest

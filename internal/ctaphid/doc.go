// Package ctaphid is the CTAPHID framing (CTAP 2.1 §11.2) that the host
// stack (hid) and the simulated key (internal/sim/simkey) share: 64-byte
// packets, commands, error codes, fragmentation and reassembly.
package ctaphid

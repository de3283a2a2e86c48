// Package offline carries a ceremony across an air gap with signed option
// and result files between a connected machine and the workstation.
//
// In full, it carries a ceremony across an air gap. A connected
// machine exports Graph creation options with a long (beta) challenge
// lifetime; the workstation creates the credentials on the keys and writes
// the results; the connected machine registers them. Every file is signed
// by the machine that wrote it (SSHSIG) and checked by the one that reads
// it against a key the officers trust by fingerprint, so a swapped or
// edited file is refused.
package offline

// Package offline carries a ceremony across an air gap: a connected machine
// exports Graph creation options with a long (beta) challenge lifetime, the
// workstation creates the credentials and writes the results, and the
// connected machine registers them. Every file is signed (SSHSIG) by the
// machine that wrote it and checked by the one that reads it against a key
// the officers trust by fingerprint, so a swapped or edited file is refused.
package offline

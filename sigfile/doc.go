// Package sigfile signs and verifies files in the OpenSSH signature format
// (SSHSIG, through github.com/hiddeco/sshsig), so `ssh-keygen -Y verify`
// checks them too. A namespace binds a signature to one purpose: a report
// signature does not verify as an offline bundle, nor the other way round.
package sigfile

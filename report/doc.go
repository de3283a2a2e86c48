// Package report is the signed record of a key ceremony or health check:
// the model, its canonical encoding (RFC 8785 through
// github.com/gowebpki/jcs), the signature by the workstation key in the
// OpenSSH signature format (github.com/hiddeco/sshsig, for `ssh-keygen -Y
// verify`) and as raw ECDSA (for openssl), verification, the hash chain from
// one report of an account to the next, and the printable page.
package report

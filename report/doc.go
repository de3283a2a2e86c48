// Package report is the signed record of a ceremony or health check: model,
// canonical JSON, signatures, verification, chain and printable page.
//
// In full, it is the signed record of a key ceremony or health check:
// its model, canonical encoding (RFC 8785 JSON via github.com/gowebpki/jcs),
// signing by the workstation key (a TPM key through github.com/google/go-tpm,
// or a software key that the report says is one), the OpenSSH signature
// format (github.com/hiddeco/sshsig) so that `ssh-keygen -Y verify` checks
// it, a raw ECDSA signature for openssl, verification, the hash chain from
// one report of an account to the next, and a printable page.
package report

// Package durable writes files so that a crash (a kill, a power cut, a
// full disk) leaves either the whole new file or none: the bytes go to a
// temporary file beside it, which is fsync'd, then renamed (or linked) to
// its name, and the directory is fsync'd so that the name survives too.
package durable

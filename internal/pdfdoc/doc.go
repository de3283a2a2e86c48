// Package pdfdoc starts the A4 documents keyceremony prints (the report
// page, the PIN halves' envelope pages, the safe's history) the one way:
// title, creator, dates fixed to the document's own time (so the same facts
// give the same bytes), and the Go fonts embedded as "GoMono" regular and
// bold (golang.org/x/image/font/gofont), which every PDF reader shows alike.
package pdfdoc

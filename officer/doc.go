// Package officer is how keyceremony talks to the two security officers:
// instructions to carry out, named confirmations and each officer's half of a
// split PIN. The TUI, the line prompter and the rehearsal's scripted officers
// implement Prompter; the ceremony, offline and health use it.
package officer

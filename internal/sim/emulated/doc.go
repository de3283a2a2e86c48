// Package emulated starts the local Graph emulator with an app registration
// and returns an enroll.Client signed in to it through azidentity's real
// certificate flow: the Graph side of rehearsals and tests.
package emulated

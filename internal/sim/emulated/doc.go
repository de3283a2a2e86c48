// Package emulated starts an emulated Entra tenant (the Graph emulator,
// its CA and app) and a client signed in to it, for tests and rehearsals.
//
// In full, it starts the local Graph emulator with an app registration
// and returns an enroll.Client signed in to it through azidentity's real
// certificate flow: the Graph side of rehearsals and tests.
package emulated

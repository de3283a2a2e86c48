// Package config reads the ceremony config file (JSON with comments): its
// keys, their defaults and checks, the example that config init writes.
package config

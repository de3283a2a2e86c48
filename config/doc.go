// Package config holds the ceremony config file (JSON with comments): load,
// the example that config init writes, defaults resolved once at load (keys,
// the cloud's endpoints) and the history's intervals. The day-before checks
// of a config are the sitting's (sitting.Check).
package config

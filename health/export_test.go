package health

// ErrLastReport is errLastReport for the tests.
var ErrLastReport = errLastReport

package pipeline

// Transmission is a placeholder for the system's transmitter result, so that
// pipeline/eval builds before the system lands; the lead deletes this file at
// merge, when the real type arrives.
type Transmission struct{}

package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/multisc/multisc/bindings"
)

// TestDevicesCPUBackend: devices names the CPU kernels in use. With no
// variant library beside the test binary they are the baseline compiled in.
func TestDevicesCPUBackend(t *testing.T) {
	t.Setenv(bindings.LibPathEnv, t.TempDir())
	out, stderr, code := runCLI(t, "devices", "--json")
	if code != 0 {
		t.Fatal(stderr)
	}
	var devs []bindings.DeviceInfo
	if err := json.Unmarshal([]byte(out), &devs); err != nil || len(devs) == 0 {
		t.Fatalf("%s (%v)", out, err)
	}
	if cb := devs[0].CPUBackend; cb == nil || cb.Variant != "baseline" {
		t.Fatalf("cpu backend %+v, want the baseline", devs[0].CPUBackend)
	}
	out, _, _ = runCLI(t, "devices")
	if !strings.Contains(out, "kernels: baseline (") {
		t.Fatalf("devices printed %q", out)
	}
}

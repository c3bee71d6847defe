package ipadapter

import (
	"fmt"
	"slices"
	"testing"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/sd"
)

// TestFullConfig: the full-size configuration is ip-adapter_sd15's: the 16
// IP layers in diffusers' processor order (down 1…11: 320, 320, 640, 640,
// 1280, 1280; up 13…29: 1280×3, 640×3, 320×3; mid 31: 1280), 22.3M
// parameters (the release's count), every tensor name within ggml's 63
// bytes, the IP layers on loader layer N (the device) and image_proj on the
// CPU (the package comment says why that is acceptable).
func TestFullConfig(t *testing.T) {
	kv, err := Config("full")
	if err != nil {
		t.Fatal(err)
	}
	specs, err := Tensors(kv)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := ReadOptions(kv)
	want := []int{320, 320, 640, 640, 1280, 1280, 1280, 1280, 1280, 640, 640, 640, 320, 320, 320, 1280}
	if !slices.Equal(o.Widths, want) {
		t.Fatalf("widths %v, want %v", o.Widths, want)
	}
	var params uint64
	names := map[string]bool{}
	for _, s := range specs {
		params += bindings.Elements(s.Shape)
		names[s.Name] = true
		if len(s.Name) > 63 {
			t.Errorf("name %s is longer than 63 bytes", s.Name)
		}
	}
	if len(specs) != 4+2*16 || params != 22_319_616 {
		t.Fatalf("%d tensors, %d parameters; want 36, 22319616", len(specs), params)
	}
	for _, n := range []int{1, 11, 13, 29, 31} {
		if !names[fmt.Sprintf("ip_adapter.%d.to_k_ip.weight", n)] {
			t.Errorf("ip_adapter.%d missing", n)
		}
	}
	if names["ip_adapter.0.to_k_ip.weight"] || names["ip_adapter.33.to_k_ip.weight"] {
		t.Error("IP layers outside 1, 3, …, 31")
	}
	for _, s := range specs {
		slot, layer := bindings.LoaderSlot(s.Name)
		var n int
		if _, err := fmt.Sscanf(s.Name, "ip_adapter.%d.", &n); err == nil {
			if slot != "layer" || layer != n {
				t.Errorf("%s: slot %s %d, want layer %d", s.Name, slot, layer, n)
			}
		} else if slot != "input" {
			t.Errorf("%s: slot %s, want input (CPU)", s.Name, slot)
		}
	}
	if w, _ := sd.FullOptions.UNet.CrossAttnWidths(); !slices.Equal(w, want) {
		t.Fatalf("sd15 UNet cross-attention widths %v", w)
	}
}

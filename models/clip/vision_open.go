package clip

import (
	"fmt"

	"github.com/ollama/ollama/ml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
)

// VisionLoaded is an mmproj file opened on a device.
type VisionLoaded struct {
	*bindings.Loaded
	Model *VisionModel
}

// OpenVision opens and checks an mmproj file (general.architecture "clip").
func OpenVision(path string, o bindings.Options) (*VisionLoaded, error) {
	return OpenVisionTuned(path, o, nil)
}

// OpenVisionTuned is OpenVision with a hook on the backend parameters (see
// bindings.OpenTuned), e.g. to enable flash attention.
func OpenVisionTuned(path string, o bindings.Options, tune func(*ml.BackendParams)) (*VisionLoaded, error) {
	o.Arch = VisionArch
	l, err := bindings.OpenTuned(path, o, tune)
	if err != nil {
		return nil, err
	}
	m := l.Model.(*VisionModel)
	if err := m.check(); err != nil {
		l.Close()
		return nil, badinput.Errorf("%s: %v", path, err)
	}
	return &VisionLoaded{Loaded: l, Model: m}, nil
}

// check verifies what Validate could not: the tensors whose shapes the
// metadata does not fix (optional mm.* width, swapped ffn).
func (m *VisionModel) check() error {
	if m.ProjectorType == VisionProjectorNone {
		if m.Tower.PostLN == nil || m.Tower.Proj == nil || m.Tower.ClassEmbd == nil {
			return fmt.Errorf("an encoder without projector needs v.class_embd, v.post_ln and v.proj.weight")
		}
	} else if m.Projector == nil || m.Projector.MM0 == nil || m.Projector.MM0.Weight == nil {
		return fmt.Errorf("tensor mm.0.weight is missing (an mlp projector is required)")
	}
	d := m.VisionOptions.Hidden
	if m.ProjectorType == VisionProjectorNone {
		// no projector to check
	} else if w := m.Projector.MM0.Weight; w.Dim(0) != d {
		return fmt.Errorf("tensor mm.0.weight has input width %d, want the tower's %d", w.Dim(0), d)
	}
	if m.ProjectorType != VisionProjectorNone && m.Projector.MM2 != nil && m.Projector.MM2.Weight.Dim(0) != m.Projector.MM0.Weight.Dim(1) {
		return fmt.Errorf("tensor mm.2.weight has input width %d, want mm.0's output %d", m.Projector.MM2.Weight.Dim(0), m.Projector.MM0.Weight.Dim(1))
	}
	for i, l := range m.Tower.Layers {
		if l.MLP == nil || l.MLP.Up == nil || l.MLP.Down == nil {
			return fmt.Errorf("tensors v.blk.%d.ffn_up/ffn_down are missing", i)
		}
		u, dn := l.MLP.Up.Weight, l.MLP.Down.Weight
		if !((u.Dim(0) == d && dn.Dim(1) == d && u.Dim(1) == dn.Dim(0)) || (dn.Dim(0) == d && u.Dim(1) == d && dn.Dim(1) == u.Dim(0))) {
			return fmt.Errorf("tensors v.blk.%d.ffn_up %v and ffn_down %v do not form a %d-wide MLP", i, u.Shape(), dn.Shape(), d)
		}
	}
	np := m.Patches()
	if m.Tower.ClassEmbd != nil {
		np++
	}
	if pe := m.Tower.PosEmbd; pe == nil || pe.Weight.Dim(1) < np {
		return fmt.Errorf("tensor v.position_embd.weight must have %d positions", np)
	}
	return nil
}

// Embed encodes images already preprocessed (each Preprocess's output) and
// returns one [E·Patches()] slice of image tokens per image.
func (v *VisionLoaded) Embed(pixels [][]float32) [][]float32 {
	m := v.Model
	s := m.ImageSize
	flat := make([]float32, 0, len(pixels)*3*s*s)
	for _, p := range pixels {
		flat = append(flat, p...)
	}
	out, _ := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		x := ctx.Input().FromFloats(flat, s, s, 3, len(pixels))
		return []ml.Tensor{m.Encode(ctx, x)}
	})
	per := len(out[0]) / len(pixels)
	res := make([][]float32, len(pixels))
	for i := range res {
		res[i] = out[0][i*per : (i+1)*per]
	}
	return res
}

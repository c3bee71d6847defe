package sd

import (
	"github.com/ollama/ollama/ml"
)

// IPAttn is the image branch of one cross-attention of IP-Adapter (Ye et
// al. 2023, ip_adapter/attention_processor.py IPAttnProcessor): the image
// tokens' keys K = to_k_ip(tokens) and values V = to_v_ip(tokens), each
// [W, N, B] (W the attention width, N image tokens). They do not depend on
// the latents, so models/ipadapter computes them once per image on its own
// backend and the UNet takes them as inputs.
type IPAttn struct {
	Key, Value ml.Tensor
}

// IPCond is the image prompt of one UNet call:
//
//	Z = Attn(Q, K_t, V_t) + Scale·Attn(Q, K_ip, V_ip)
//
// in every attn2, added before to_out (eq. 12 of the paper as the reference
// code computes it). One IPAttn per transformer block with cross-attention,
// in diffusers' attn_processors order, which is the order IP-Adapter's
// state dict numbers them (ip_adapter.1, 3, 5, …): input blocks first, then
// output blocks, then the middle block (CrossAttnWidths gives their
// widths). The batch entries match the latents' (the unconditional entry of
// classifier-free guidance uses the projection of a zero image embedding).
// Scale 0 skips the image branch entirely, so the result is byte-identical
// to no adapter.
type IPCond struct {
	Scale  float64
	Layers []*IPAttn
}

// CrossAttnWidths lists the attention width of every transformer block
// with cross-attention, in IPCond.Layers order (SD 1.5: 320, 320, 640, 640,
// 1280, 1280, then 1280×3, 640×3, 320×3, then the middle block's 1280).
func (o UNetOptions) CrossAttnWidths() ([]int, error) {
	p, err := planUNet(&o)
	if err != nil {
		return nil, err
	}
	var w []int
	for _, seqs := range [][][]unetLayerPlan{p.input, p.output, {p.middle}} {
		for _, seq := range seqs {
			for _, l := range seq {
				if l.kind == kindAttn {
					w = append(w, l.out)
				}
			}
		}
	}
	return w, nil
}

// ipLayers maps each SpatialTransformer to its IP layers (nil when cond is
// nil or its scale is 0).
func (u *UNet) ipLayers(cond *IPCond) map[*SpatialTransformer][]*IPAttn {
	if cond == nil || cond.Scale == 0 {
		return nil
	}
	m := map[*SpatialTransformer][]*IPAttn{}
	i := 0
	for _, seqs := range [][]*UNetSeq{u.Input, u.Output, {u.Middle}} {
		for _, s := range seqs {
			for _, l := range s.Layers {
				if l.kind != kindAttn {
					continue
				}
				for range l.SpatialTransformer.Blocks {
					if i < len(cond.Layers) {
						m[l.SpatialTransformer] = append(m[l.SpatialTransformer], cond.Layers[i])
					}
					i++
				}
			}
		}
	}
	return m
}

package sd

import (
	"fmt"
	"math"
	"strings"

	"github.com/ollama/ollama/ml"

	"github.com/multisc/multisc/bindings/badinput"
)

// checkIP validates an image prompt against the UNet: one layer per
// cross-attention, each of its width. Errors are bad input.
func (m *Model) checkIP(ip *IPInput) error {
	if ip == nil {
		return nil
	}
	if ip.Scale < 0 || math.IsNaN(ip.Scale) || math.IsInf(ip.Scale, 0) {
		return badinput.Errorf("ip scale %v: want a finite value ≥ 0", ip.Scale)
	}
	widths, err := m.UNet.UNetOptions.CrossAttnWidths()
	if err != nil {
		return err
	}
	if len(ip.Cond) != len(widths) || len(ip.Uncond) != len(widths) {
		return badinput.Errorf("ip-adapter has %d cross-attention layers, the UNet %d", len(ip.Cond), len(widths))
	}
	for i, w := range widths {
		for _, kv := range []IPHostKV{ip.Cond[i], ip.Uncond[i]} {
			if ip.Tokens < 1 || len(kv.Key) != w*ip.Tokens || len(kv.Value) != w*ip.Tokens {
				return badinput.Errorf("ip-adapter layer %d: keys/values of %d values, the UNet's cross-attention %d wants %d×%d",
					2*i+1, len(kv.Key), 2*i+1, w, ip.Tokens)
			}
		}
	}
	return nil
}

// ipCond puts an image prompt's keys and values in the graph for a batch
// of 1 (cond) or 2 (uncond, cond).
func ipCond(ctx ml.Context, ip *IPInput, batch int) *IPCond {
	if ip == nil || ip.Scale == 0 {
		return nil
	}
	c := &IPCond{Scale: ip.Scale}
	for i := range ip.Cond {
		w := len(ip.Cond[i].Key) / ip.Tokens
		var k, v []float32
		if batch == 2 {
			k = append(append(k, ip.Uncond[i].Key...), ip.Cond[i].Key...)
			v = append(append(v, ip.Uncond[i].Value...), ip.Cond[i].Value...)
		} else {
			k, v = ip.Cond[i].Key, ip.Cond[i].Value
		}
		c.Layers = append(c.Layers, &IPAttn{
			Key:   ctx.Input().FromFloats(k, w, ip.Tokens, batch),
			Value: ctx.Input().FromFloats(v, w, ip.Tokens, batch),
		})
	}
	return c
}

// captions is the request's list of captions (Prompts, or Prompt alone).
func (r *Request) captions() []string {
	if len(r.Prompts) > 0 {
		return r.Prompts
	}
	return []string{r.Prompt}
}

// EncodeCaptions encodes captions as one context [D, L, 1] (host order):
// "join" one prompt of the captions joined with ", " (L = 77), "chunks"
// one 77-token sequence per caption concatenated (L = 77·n). It returns the
// names of the captions cut to fit ("prompt" or "prompt N").
func (m *Model) EncodeCaptions(captions []string, mode string, skip int) ([]float32, []string) {
	var cut []string
	if mode != TextChunks || len(captions) == 1 {
		out, tr := m.EncodeText([]string{strings.Join(captions, ", ")}, skip)
		if tr[0] {
			cut = append(cut, "prompt")
		}
		return out, cut
	}
	out, tr := m.EncodeText(captions, skip) // [D, 77, n]: batch entries follow each other
	for i, t := range tr {
		if t {
			cut = append(cut, fmt.Sprintf("prompt %d", i+1))
		}
	}
	return out, cut
}

// encodeRequest returns the contexts of a request's batch (uncond first
// when batch is 2) and the names of the texts cut to fit.
func (m *Model) encodeRequest(r *Request, batch int) ([]float32, []string) {
	caps := r.captions()
	cond, cut := m.EncodeCaptions(caps, r.TextMode, r.ClipSkip)
	if batch == 1 {
		return cond, cut
	}
	neg, tr := m.EncodeText([]string{r.Negative}, r.ClipSkip)
	if tr[0] {
		cut = append([]string{"negative"}, cut...)
	}
	n := len(cond) / len(neg) // chunks: the negative repeated per caption
	out := make([]float32, 0, 2*len(cond))
	for range n {
		out = append(out, neg...)
	}
	return append(out, cond...), cut
}

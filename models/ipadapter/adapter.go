package ipadapter

import (
	"image"
	"slices"

	"github.com/ollama/ollama/ml"
	"golang.org/x/image/draw"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/models/clip"
	"github.com/multisc/multisc/models/sd"
)

// Adapter is an opened IP-Adapter file.
type Adapter struct {
	*bindings.Loaded
	Model *Model
	path  string
}

// Open loads an ipadapter GGUF file.
func Open(path string, o bindings.Options) (*Adapter, error) {
	o.Arch = Arch
	l, err := bindings.Open(path, o)
	if err != nil {
		return nil, err
	}
	m := l.Model.(*Model)
	for i := range m.Widths {
		if l := m.Layers[2*i+1]; l == nil || l.Key == nil || l.Value == nil {
			return nil, badinput.Errorf("%s: tensors ip_adapter.%d.to_k_ip/to_v_ip are missing", path, 2*i+1)
		}
	}
	return &Adapter{Loaded: l, Model: m, path: path}, nil
}

// CheckUNet says whether the adapter fits a UNet: context width and one
// layer of the right width per cross-attention. Errors name both sides.
func (a *Adapter) CheckUNet(u sd.UNetOptions) error {
	w, err := u.CrossAttnWidths()
	if err != nil {
		return err
	}
	o := a.Model.Options
	if o.CrossDim != u.ContextDim {
		return badinput.Errorf("--ip-adapter %s: cross-attention context width %d, the UNet's is %d", a.path, o.CrossDim, u.ContextDim)
	}
	if !slices.Equal(o.Widths, w) {
		return badinput.Errorf("--ip-adapter %s: cross-attention widths %v, the UNet's are %v", a.path, o.Widths, w)
	}
	return nil
}

// CheckEncoder says whether an image encoder's embedding width is the
// adapter's.
func (a *Adapter) CheckEncoder(e *clip.VisionLoaded) error {
	if e.Model.ProjectorType != clip.VisionProjectorNone || e.Model.Tower.Proj == nil {
		return badinput.Errorf("not a CLIP image encoder with a visual projection (projector type %q)", e.Model.ProjectorType)
	}
	if w := e.Model.Tower.Proj.Dim(1); w != a.Model.ImageDim {
		return badinput.Errorf("image encoder embedding width %d, the ip-adapter %s wants %d", w, a.path, a.Model.ImageDim)
	}
	return nil
}

// Tokens projects image embeddings (ImageDim values each) to image tokens
// [CrossDim, Tokens] per embedding, host order.
func (a *Adapter) Tokens(embeds [][]float32) [][]float32 {
	m := a.Model
	flat := slices.Concat(embeds...)
	out, _ := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		return []ml.Tensor{m.Project(ctx, ctx.Input().FromFloats(flat, m.ImageDim, len(embeds)))}
	})
	return split(out[0], len(embeds))
}

func split(v []float32, n int) [][]float32 {
	per := len(v) / n
	res := make([][]float32, n)
	for i := range res {
		res[i] = v[i*per : (i+1)*per]
	}
	return res
}

// Prompt is the image prompt of an image embedding at scale λ: the keys
// and values of every IP layer for the embedding (Cond) and for a zero
// embedding (Uncond), computed in one graph.
func (a *Adapter) Prompt(embed []float32, scale float64) (in *sd.IPInput, err error) {
	defer bindings.RecoverCompute(&err)
	m := a.Model
	if len(embed) != m.ImageDim {
		return nil, badinput.Errorf("image embedding of %d values, the ip-adapter %s wants %d", len(embed), a.path, m.ImageDim)
	}
	if scale < 0 {
		return nil, badinput.Errorf("--ip-scale %v: want a value ≥ 0", scale)
	}
	flat := append(make([]float32, m.ImageDim), embed...) // [zero, image]
	outs, _ := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		tok := m.Project(ctx, ctx.Input().FromFloats(flat, m.ImageDim, 2))
		var res []ml.Tensor
		for i := range m.Widths {
			k, v := m.KV(ctx, i, tok)
			res = append(res, k, v)
		}
		return res
	})
	ip := &sd.IPInput{Scale: scale, Tokens: m.Tokens}
	for i := range m.Widths {
		k, v := split(outs[2*i], 2), split(outs[2*i+1], 2)
		ip.Uncond = append(ip.Uncond, sd.IPHostKV{Key: k[0], Value: v[0]})
		ip.Cond = append(ip.Cond, sd.IPHostKV{Key: k[1], Value: v[1]})
	}
	return ip, nil
}

// Preprocess is CLIPImageProcessor's preprocessing for the image encoder:
// shortest side resized to the encoder's size (bicubic; Catmull-Rom here),
// centre crop to a square, (v/255 − mean)/std per channel. It returns
// planar [S, S, 3] in ggml order.
func Preprocess(img image.Image, o *clip.VisionOptions) []float32 {
	s := o.ImageSize
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	nw, nh := s, s
	if w < h {
		nh = max(s, int(float64(h)*float64(s)/float64(w)))
	} else {
		nw = max(s, int(float64(w)*float64(s)/float64(h)))
	}
	dst := image.NewNRGBA(image.Rect(0, 0, nw, nh))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	x0, y0 := (nw-s)/2, (nh-s)/2
	out := make([]float32, 3*s*s)
	for y := range s {
		for x := range s {
			c := dst.NRGBAAt(x0+x, y0+y)
			for ch, v := range []uint8{c.R, c.G, c.B} {
				out[ch*s*s+y*s+x] = (float32(v)/255 - o.Mean[ch]) / o.Std[ch]
			}
		}
	}
	return out
}

// EncodeImage returns an image's embedding (VisionModel.Pooled) from an
// image encoder.
func EncodeImage(e *clip.VisionLoaded, img image.Image) []float32 {
	m := e.Model
	px := Preprocess(img, &m.VisionOptions)
	s := m.ImageSize
	out, _ := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		return []ml.Tensor{m.Pooled(ctx, ctx.Input().FromFloats(px, s, s, 3, 1))}
	})
	return out[0]
}

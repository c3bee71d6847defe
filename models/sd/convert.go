package sd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/clip"
)

// namePrefixes is the mechanical rename between single-file checkpoint keys
// and GGUF names (see the package comment).
var namePrefixes = [][2]string{
	{"cond_stage_model.transformer.text_model.", "0.te."},
	{"model.diffusion_model.", "1.unet."},
	{"first_stage_model.", "2.vae."},
}

// GGUFName maps a single-file checkpoint key to its GGUF tensor name; ok is
// false for keys outside the three networks.
func GGUFName(key string) (name string, ok bool) {
	for _, p := range namePrefixes {
		if rest, found := strings.CutPrefix(key, p[0]); found {
			return p[1] + strings.ReplaceAll(rest, ".transformer_blocks.", ".tb."), true
		}
	}
	return "", false
}

// CheckpointName maps a GGUF tensor name back to the checkpoint key.
func CheckpointName(name string) string {
	for _, p := range namePrefixes {
		if rest, found := strings.CutPrefix(name, p[1]); found {
			return p[0] + strings.ReplaceAll(rest, ".tb.", ".transformer_blocks.")
		}
	}
	return name
}

// Convert reads an SD 1.5 single-file checkpoint (.safetensors or .ckpt,
// or a GGUF file written by stable-diffusion.cpp, which keeps those names
// and may carry no architecture key) and the CLIP tokenizer files
// vocab.json and merges.txt (Hugging Face layout, e.g. a diffusers folder's
// tokenizer/), in any order; or a diffusers folder alone
// (convert_diffusers.go). The
// configuration is read off the tensors' names and shapes; head counts are
// SD 1.5's (text 12, UNet 8). SDXL and SD 2.x checkpoints are refused with
// the reason. Keys outside the three networks (scheduler buffers, EMA
// copies, the text model's position_ids) are dropped.
//
// Convert returns every tensor's values; `multisc convert` and
// bindings.ConvertFiles stream instead (ConvertStream, convert_stream.go).
func Convert(inputs []string) (fsggml.KV, map[string][]float32, error) {
	return bindings.StreamConvertFunc(ConvertStream).Materialize(inputs)
}

// ConvertStream is Convert without reading tensor values: it reads the
// checkpoint's index (names, shapes, types), checks it and the tokenizer,
// and returns one source per GGUF tensor that reads and widens that tensor
// when called (bindings.StreamConvertFunc). release closes the inputs.
func ConvertStream(inputs []string) (kv fsggml.KV, sources map[string]bindings.TensorSource, release func() error, err error) {
	var sd lazyDict
	var closers []func() error
	closeAll := func() error {
		var first error
		for _, c := range closers {
			if err := c(); err != nil && first == nil {
				first = err
			}
		}
		closers = nil
		return first
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	var ckpt, vocabPath, mergesPath string
	if len(inputs) == 1 {
		if st, statErr := os.Stat(inputs[0]); statErr == nil && st.IsDir() {
			ckpt = inputs[0]
			if sd, vocabPath, mergesPath, err = readDiffusers(ckpt, &closers); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	if sd == nil {
		for _, in := range inputs {
			switch base := strings.ToLower(filepath.Base(in)); {
			case strings.HasSuffix(base, ".json"):
				vocabPath = in
			case strings.HasSuffix(base, ".txt"):
				mergesPath = in
			default:
				if ckpt != "" {
					return nil, nil, nil, fmt.Errorf("two checkpoint files given (%s, %s): give one, plus vocab.json and merges.txt", ckpt, in)
				}
				ckpt = in
			}
		}
		if ckpt == "" {
			return nil, nil, nil, fmt.Errorf("no checkpoint file among %v", inputs)
		}
		if vocabPath == "" || mergesPath == "" {
			return nil, nil, nil, fmt.Errorf("%s: SD 1.5 checkpoints carry no tokenizer: also give the CLIP tokenizer's vocab.json and merges.txt", ckpt)
		}
		if isGGUF(ckpt) {
			sd, err = readGGUFCheckpoint(ckpt, &closers)
		} else {
			sd, err = readCheckpoint(ckpt, &closers)
		}
		if err != nil {
			return nil, nil, nil, err
		}
	}
	if err := rejectOtherModels(sd); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %v", ckpt, err)
	}
	sources = map[string]bindings.TensorSource{}
	shapes := map[string][]int{}
	for k, t := range sd {
		name, ok := GGUFName(k)
		if !ok || strings.HasSuffix(k, "embeddings.position_ids") {
			continue
		}
		// PyTorch row-major [O, I, KH, KW] is ggml [KW, KH, I, O]: same bytes.
		sources[name], shapes[name] = bindings.TensorSource{Elements: t.elements(), Read: t.read}, t.shape
	}
	o, err := inferOptions(shapes)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %v", ckpt, err)
	}
	tokens, merges, err := readTokenizer(vocabPath, mergesPath)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(tokens) != o.Text.Vocab {
		return nil, nil, nil, fmt.Errorf("%s: %d tokens, but the text encoder has %d embeddings", vocabPath, len(tokens), o.Text.Vocab)
	}
	if _, err := clip.NewTokenizer(tokens, merges); err != nil {
		return nil, nil, nil, fmt.Errorf("%s, %s: %v", vocabPath, mergesPath, err)
	}
	kv = o.KV()
	kv["text.tokens"], kv["text.merges"] = tokens, merges
	return kv, sources, closeAll, nil
}

// rejectOtherModels names SDXL and SD 2.x checkpoints, whose keys differ.
func rejectOtherModels(sd lazyDict) error {
	for k, t := range sd {
		switch {
		case strings.HasPrefix(k, "conditioner.embedders."):
			return fmt.Errorf("this is an SDXL checkpoint (%s), not SD 1.5", k)
		case strings.HasPrefix(k, "cond_stage_model.model."):
			return fmt.Errorf("this is an SD 2.x checkpoint (OpenCLIP text encoder, %s), not SD 1.5", k)
		case strings.HasSuffix(k, "attn2.to_k.weight") && len(t.shape) == 2 && t.shape[1] != 768 && t.shape[1] >= 1024:
			return fmt.Errorf("cross-attention context width %d (%s): SD 2.x/SDXL, not SD 1.5 (768)", t.shape[1], k)
		}
	}
	for _, p := range namePrefixes {
		found := false
		for k := range sd {
			if strings.HasPrefix(k, p[0]) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("no %s* tensors: not an SD 1.5 single-file checkpoint", p[0])
		}
	}
	return nil
}

// inferOptions reads the configuration off GGUF-named shapes (PyTorch order).
func inferOptions(shapes map[string][]int) (Options, error) {
	o := Options{}
	dim := func(name string, i int) (int, error) {
		s, ok := shapes[name]
		if !ok || i >= len(s) {
			return 0, fmt.Errorf("tensor %s is missing or has too few dimensions", CheckpointName(name))
		}
		return s[i], nil
	}
	var err error
	// text
	if o.Text.Vocab, err = dim("0.te.embeddings.token_embedding.weight", 0); err != nil {
		return o, err
	}
	o.Text.Width, _ = dim("0.te.embeddings.token_embedding.weight", 1)
	if o.Text.Positions, err = dim("0.te.embeddings.position_embedding.weight", 0); err != nil {
		return o, err
	}
	for {
		if _, ok := shapes[fmt.Sprintf("0.te.encoder.layers.%d.mlp.fc1.weight", o.Text.Layers)]; !ok {
			break
		}
		o.Text.Layers++
	}
	if o.Text.FF, err = dim("0.te.encoder.layers.0.mlp.fc1.weight", 0); err != nil {
		return o, err
	}
	o.Text.Heads, o.Text.QuickGELU = 12, true
	// unet
	u := &o.UNet
	if u.ModelChannels, err = dim("1.unet.input_blocks.0.0.weight", 0); err != nil {
		return o, err
	}
	u.InChannels, _ = dim("1.unet.input_blocks.0.0.weight", 1)
	if u.ContextDim, err = dim("1.unet.middle_block.1.tb.0.attn2.to_k.weight", 1); err != nil {
		return o, err
	}
	u.Heads, u.Groups = 8, 32
	nres, att := 0, false
	for i := 1; ; i++ {
		pre := fmt.Sprintf("1.unet.input_blocks.%d.0.", i)
		if _, ok := shapes[pre+"op.weight"]; ok {
			u.ResBlocks, nres = nres, 0
			continue
		}
		c, err := dim(pre+"out_layers.3.weight", 0)
		if err != nil {
			break
		}
		_, hasAttn := shapes[fmt.Sprintf("1.unet.input_blocks.%d.1.proj_in.weight", i)]
		if nres == 0 {
			u.ChannelMult = append(u.ChannelMult, c/u.ModelChannels)
			u.Attention = append(u.Attention, hasAttn)
			att = att || hasAttn
		}
		nres++
	}
	if u.ResBlocks == 0 {
		u.ResBlocks = nres
	}
	if nres != u.ResBlocks || len(u.ChannelMult) == 0 || !att {
		return o, fmt.Errorf("unet input_blocks do not follow SD 1.5's layout")
	}
	// vae
	v := &o.VAE
	if v.Channels, err = dim("2.vae.encoder.conv_in.weight", 0); err != nil {
		return o, err
	}
	if v.ZChannels, err = dim("2.vae.decoder.conv_in.weight", 1); err != nil {
		return o, err
	}
	for i := 0; ; i++ {
		c, err := dim(fmt.Sprintf("2.vae.encoder.down.%d.block.0.conv1.weight", i), 0)
		if err != nil {
			break
		}
		v.ChannelMult = append(v.ChannelMult, c/v.Channels)
	}
	for {
		if _, ok := shapes[fmt.Sprintf("2.vae.encoder.down.0.block.%d.conv1.weight", v.ResBlocks)]; !ok {
			break
		}
		v.ResBlocks++
	}
	v.Groups, v.Scale = 32, LatentScale
	// Reduced fixtures use fewer norm groups than 32: take the largest
	// divisor of the narrowest width up to 32 (32 for every SD 1.5 width).
	for _, g := range []*int{&u.Groups, &v.Groups} {
		narrow := min(u.ModelChannels, v.Channels)
		for narrow%*g != 0 {
			*g /= 2
		}
	}
	if o.Text.Width%o.Text.Heads != 0 {
		return o, fmt.Errorf("text width %d does not split into CLIP ViT-L/14's 12 heads", o.Text.Width)
	}
	return o, nil
}

// readTokenizer reads Hugging Face's vocab.json (token → id) and merges.txt.
func readTokenizer(vocabPath, mergesPath string) (tokens, merges []string, err error) {
	b, err := os.ReadFile(vocabPath)
	if err != nil {
		return nil, nil, err
	}
	var vocab map[string]int
	if err := json.Unmarshal(b, &vocab); err != nil {
		return nil, nil, fmt.Errorf("%s: not a vocab.json (token → id): %v", vocabPath, err)
	}
	tokens = make([]string, len(vocab))
	for t, id := range vocab {
		if id < 0 || id >= len(vocab) || tokens[id] != "" {
			return nil, nil, fmt.Errorf("%s: ids are not 0..%d, each once (token %q has %d)", vocabPath, len(vocab)-1, t, id)
		}
		tokens[id] = t
	}
	b, err = os.ReadFile(mergesPath)
	if err != nil {
		return nil, nil, err
	}
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if i == 0 && strings.HasPrefix(line, "#version") {
			continue
		}
		if line = strings.TrimRight(line, "\r"); line != "" {
			merges = append(merges, line)
		}
	}
	return tokens, merges, nil
}

// sortedKeys is for stable error messages.
func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

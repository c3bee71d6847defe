package models

import (
	"fmt"
	"strings"

	"github.com/multisc/multisc/bindings"
)

// Role is what a model does in the system; the manifest maps each role to
// its GGUF file(s).
type Role string

// The roles of a models folder.
const (
	Segmenter    Role = "segmenter"     // FCN-ResNet50: the object slice i_m
	Detector     Role = "detector"      // DETR-ResNet-50: boxes for the fusion split
	Captioner    Role = "captioner"     // LLaVA: a qwen2 LM and its clip mmproj
	Corrector    Role = "corrector"     // BART spelling corrector
	Generator    Role = "generator"     // Stable Diffusion 1.5
	IPAdapter    Role = "ip-adapter"    // IP-Adapter SD 1.5
	ImageEncoder Role = "image-encoder" // CLIP ViT-H/14 image encoder of the IP-Adapter
	LPIPS        Role = "lpips"         // LPIPS v0.1 (AlexNet)
	Embedder     Role = "embedder"      // CLIP vision model for cosine similarity
)

// Roles lists every role in the order they are pulled, synthesized and
// listed.
var Roles = []Role{Segmenter, Detector, Captioner, Corrector, Generator, IPAdapter, ImageEncoder, LPIPS, Embedder}

// Host is a publisher whose base URL an Options can override (tests point
// every host at a loopback server).
type Host string

// The publishers of the catalogue's checkpoints and their default base URLs.
const (
	HuggingFace Host = "huggingface" // HF_ENDPOINT overrides it
	PyTorch     Host = "pytorch"
	GitHub      Host = "github"
)

// DefaultEndpoints are the publishers' base URLs.
var DefaultEndpoints = map[Host]string{
	HuggingFace: "https://huggingface.co",
	PyTorch:     "https://download.pytorch.org",
	GitHub:      "https://github.com",
}

// Source is one public checkpoint file.
type Source struct {
	Host Host
	// Path is the file's path under the host's base URL; for Hugging Face
	// "<repo>/resolve/<revision>/<file>".
	Path string
	// Local is where the file goes, relative to the download folder (and
	// where --from-dir looks for it; its base name is tried too).
	Local string
	// Size in bytes and SHA256 (hex) where the publisher gives them; 0 and
	// "" when it does not. HashPrefix is torchvision's convention: the first
	// hex digits of the sha256 in the file name, checked as torchvision does.
	// With neither, the hub's X-Linked-Etag (the sha256 of an LFS file) is
	// checked when the server sends one.
	Size       int64
	SHA256     string
	HashPrefix string
}

// URL is the source's address under the given endpoints.
func (s Source) URL(endpoints map[Host]string) string {
	base := endpoints[s.Host]
	if base == "" {
		base = DefaultEndpoints[s.Host]
	}
	return strings.TrimSuffix(base, "/") + "/" + s.Path
}

// Entry is one row of the catalogue: a role, the architecture its converter
// is registered under, the public files it converts and how.
type Entry struct {
	Role Role
	// Arch is the registered architecture (or multi-file name, see
	// bindings.LookupMultiFile) whose converter turns Inputs into the role's
	// GGUF file(s).
	Arch    string
	Model   string // the published model, for people
	Licence string
	// LicenceNotice is shown before the download when set (SD 1.5's
	// CreativeML OpenRAIL-M use restrictions).
	LicenceNotice string
	Files         []Source
	// Inputs are the converter's arguments, relative to the download folder
	// (files or folders, in the converter's order).
	Inputs []string
	// Issue names the work that registers Arch, for a role not yet
	// convertible.
	Issue string
	// FileArches are the general.architecture of each output file, when
	// they are not just Arch (the captioner: qwen2, then clip).
	FileArches []string
	// SynthSizes maps `models synth --size` (tiny, full) to the size the
	// architecture's Config takes for this role, where they differ: the
	// clip roles image-encoder and embedder are image encoders (clip sizes
	// vit-h, vit-l, tiny-encoder, tiny-embedder), not LLaVA mmproj files.
	SynthSizes map[string]string
	// ProjectorType, when set, is the clip.projector_type the role's file
	// must have: "none" (an image encoder) for image-encoder and embedder,
	// so that Check refuses an mmproj put in their place.
	ProjectorType string
}

// SynthSize is the architecture size `models synth --size size` writes
// for this role.
func (e Entry) SynthSize(size string) string {
	if s, ok := e.SynthSizes[size]; ok {
		return s
	}
	return size
}

// Arches lists the general.architecture of each of the role's files.
func (e Entry) Arches() []string {
	if e.FileArches != nil {
		return e.FileArches
	}
	return []string{e.Arch}
}

// Convertible reports whether the entry's architecture is registered in
// this binary.
func (e Entry) Convertible() bool {
	if _, ok := bindings.LookupMultiFile(e.Arch); ok {
		return true
	}
	a, ok := bindings.LookupArch(e.Arch)
	return ok && a.Convert != nil
}

// Synthesizable reports whether `models synth` can write the role: its
// architecture is registered (a converter is not needed).
func (e Entry) Synthesizable() bool {
	if mf, ok := bindings.LookupMultiFile(e.Arch); ok {
		return mf.Synth != nil
	}
	_, ok := bindings.LookupArch(e.Arch)
	return ok
}

// NotYet is the error for a role whose architecture is not registered.
func (e Entry) NotYet() error {
	return fmt.Errorf("role %s is not yet convertible: architecture %q is not in this binary (%s)", e.Role, e.Arch, e.Issue)
}

// Output lists the role's GGUF files, relative to the models folder: one
// per role, two for the captioner (the LM, then its mmproj).
func (e Entry) Output() []string {
	if e.Role == Captioner {
		return []string{string(e.Role) + ".gguf", string(e.Role) + "-mmproj.gguf"}
	}
	return []string{string(e.Role) + ".gguf"}
}

func hf(repo, file, local string) Source {
	return hfAt(repo, "main", file, local)
}

// hfAt is a file of a hub repository at a pinned revision (a commit).
func hfAt(repo, revision, file, local string) Source {
	return Source{Host: HuggingFace, Path: repo + "/resolve/" + revision + "/" + file, Local: local}
}

// sized records a file's published size and sha256.
func sized(s Source, size int64, sha256 string) Source {
	s.Size, s.SHA256 = size, sha256
	return s
}

// lpipsRevision is the richzhang/PerceptualSimilarity commit the LPIPS
// weights are pinned to.
const lpipsRevision = "082bb24f84c091ea94de2867d34c4544f68e0963"

// sd15Revision is the hub commit of stable-diffusion-v1-5/stable-diffusion-v1-5
// whose v1-5-pruned-emaonly.safetensors has the sha256 in the catalogue.
const sd15Revision = "451f4fe16113bff5a5d2269ed5ad43b0592e9a14"

// Catalogue is the default public source of every role. Sizes and full
// sha256 sums are left empty where they could not be cited when this table
// was written (the hub's X-Linked-Etag, an LFS file's sha256, is checked
// instead; torchvision files carry their hash prefix in the name).
var Catalogue = []Entry{
	{
		Role: Segmenter, Arch: "fcn", Model: "torchvision FCN-ResNet50 (COCO, VOC labels)", Licence: "BSD-3-Clause (torchvision)",
		Files: []Source{{Host: PyTorch, Path: "models/fcn_resnet50_coco-1167a1af.pth",
			Local: "segmenter/fcn_resnet50_coco-1167a1af.pth", HashPrefix: "1167a1af"}},
		Inputs: []string{"segmenter/fcn_resnet50_coco-1167a1af.pth"},
	},
	{
		Role: Detector, Arch: "detr", Model: "facebook/detr-resnet-50", Licence: "Apache-2.0",
		Files: []Source{
			hf("facebook/detr-resnet-50", "model.safetensors", "detector/model.safetensors"),
			hf("facebook/detr-resnet-50", "config.json", "detector/config.json"),
		},
		Inputs: []string{"detector/model.safetensors", "detector/config.json"},
	},
	{
		Role: Captioner, Arch: "llava", Model: "qnguyen3/nanoLLaVA (Qwen1.5-0.5B) + google/siglip-so400m-patch14-384", Licence: "Apache-2.0",
		Files: []Source{
			hf("qnguyen3/nanoLLaVA", "config.json", "captioner/llava/config.json"),
			hf("qnguyen3/nanoLLaVA", "model.safetensors", "captioner/llava/model.safetensors"),
			hf("qnguyen3/nanoLLaVA", "tokenizer.json", "captioner/llava/tokenizer.json"),
			hf("qnguyen3/nanoLLaVA", "tokenizer_config.json", "captioner/llava/tokenizer_config.json"),
			// nanoLLaVA's model.safetensors (2.1 GB) holds the SigLIP tower's
			// weights too (model.vision_tower.vision_tower.*): of the tower's
			// repository only its config.json is needed.
			hf("google/siglip-so400m-patch14-384", "config.json", "captioner/tower/config.json"),
		},
		Inputs:     []string{"captioner/llava", "captioner/tower"},
		FileArches: []string{"qwen2", "clip"},
	},
	{
		Role: Corrector, Arch: "bart", Model: "oliverguhr/spelling-correction-english-base (a facebook/bart-base fine-tune)", Licence: "MIT",
		Files: []Source{
			hf("oliverguhr/spelling-correction-english-base", "config.json", "corrector/config.json"),
			hf("oliverguhr/spelling-correction-english-base", "pytorch_model.bin", "corrector/pytorch_model.bin"),
			hf("oliverguhr/spelling-correction-english-base", "vocab.json", "corrector/vocab.json"),
			hf("oliverguhr/spelling-correction-english-base", "merges.txt", "corrector/merges.txt"),
		},
		Inputs: []string{"corrector"},
	},
	{
		Role: Generator, Arch: "sd15", Model: "stable-diffusion-v1-5/stable-diffusion-v1-5 (v1-5-pruned-emaonly)", Licence: "CreativeML OpenRAIL-M",
		LicenceNotice: `Stable Diffusion 1.5 is licensed under the CreativeML OpenRAIL-M licence
(https://huggingface.co/spaces/CompVis/stable-diffusion-license). By downloading
it you accept its use restrictions (Attachment A: no unlawful, harmful,
defamatory or discriminatory use, no impersonation, no medical or legal advice,
...) and agree to pass them on with any copy or derivative.`,
		// Pinned: revision 451f4fe1 of the hub repository and the
		// checkpoint's sha256 and size as published with it (the LFS oid
		// 6ce01616…, AUTOMATIC1111's short hash [6ce0161689]; see the
		// package comment for the sources).
		Files: []Source{
			sized(hfAt("stable-diffusion-v1-5/stable-diffusion-v1-5", sd15Revision, "v1-5-pruned-emaonly.safetensors", "generator/v1-5-pruned-emaonly.safetensors"),
				4_265_146_304, "6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa"),
			hfAt("stable-diffusion-v1-5/stable-diffusion-v1-5", sd15Revision, "tokenizer/vocab.json", "generator/vocab.json"),
			hfAt("stable-diffusion-v1-5/stable-diffusion-v1-5", sd15Revision, "tokenizer/merges.txt", "generator/merges.txt"),
		},
		Inputs: []string{"generator/v1-5-pruned-emaonly.safetensors", "generator/vocab.json", "generator/merges.txt"},
	},
	{
		Role: IPAdapter, Arch: "ipadapter", Model: "h94/IP-Adapter ip-adapter_sd15", Licence: "Apache-2.0",
		Files:  []Source{hf("h94/IP-Adapter", "models/ip-adapter_sd15.safetensors", "ip-adapter/ip-adapter_sd15.safetensors")},
		Inputs: []string{"ip-adapter/ip-adapter_sd15.safetensors"},
		Issue:  "issue 12: IP-Adapter",
	},
	{
		Role: ImageEncoder, Arch: "clip", Model: "h94/IP-Adapter models/image_encoder (CLIP ViT-H/14, CLIPVisionModelWithProjection)", Licence: "Apache-2.0",
		Files: []Source{
			hf("h94/IP-Adapter", "models/image_encoder/config.json", "image-encoder/config.json"),
			hf("h94/IP-Adapter", "models/image_encoder/model.safetensors", "image-encoder/model.safetensors"),
		},
		Inputs:        []string{"image-encoder"},
		SynthSizes:    map[string]string{"tiny": "tiny-encoder", "full": "vit-h"}, // clip.VisionSizeTinyEncoder, VisionSizeViTH
		ProjectorType: "none",                                                     // clip.VisionProjectorNone
	},
	{
		Role: LPIPS, Arch: "lpips", Model: "LPIPS v0.1 alex (richzhang/PerceptualSimilarity) on torchvision AlexNet", Licence: "BSD-2-Clause (LPIPS), BSD-3-Clause (torchvision)",
		Files: []Source{
			{Host: PyTorch, Path: "models/alexnet-owt-7be5be79.pth", Local: "lpips/alexnet-owt-7be5be79.pth", HashPrefix: "7be5be79"},
			// Pinned to the repository's commit 082bb24f; size and sha256 of
			// that blob (a plain git file, read from a clone of the repository).
			{Host: GitHub, Path: "richzhang/PerceptualSimilarity/raw/" + lpipsRevision + "/lpips/weights/v0.1/alex.pth", Local: "lpips/alex.pth",
				Size: 6009, SHA256: "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0"},
		},
		Inputs: []string{"lpips/alexnet-owt-7be5be79.pth", "lpips/alex.pth"},
	},
	{
		Role: Embedder, Arch: "clip", Model: "openai/clip-vit-large-patch14 (CLIPModel; its vision tower and visual projection: image embeddings)", Licence: "MIT",
		Files: []Source{
			hf("openai/clip-vit-large-patch14", "config.json", "embedder/config.json"),
			hf("openai/clip-vit-large-patch14", "model.safetensors", "embedder/model.safetensors"),
		},
		Inputs:        []string{"embedder"},
		SynthSizes:    map[string]string{"tiny": "tiny-embedder", "full": "vit-l"}, // clip.VisionSizeTinyEmbedder, VisionSizeViTL
		ProjectorType: "none",                                                      // clip.VisionProjectorNone
	},
}

// Lookup returns the catalogue entry of a role.
func Lookup(cat []Entry, r Role) (Entry, bool) {
	for _, e := range cat {
		if e.Role == r {
			return e, true
		}
	}
	return Entry{}, false
}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	names := make([]string, len(Roles))
	for i, r := range Roles {
		names[i] = string(r)
	}
	return "", fmt.Errorf("unknown role %q (one of %s)", s, strings.Join(names, ", "))
}

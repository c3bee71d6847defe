// Package models is the models folder of Multi-SC: the catalogue of public
// checkpoints per role, the manifest (models.json), pulling (download,
// verify, convert), synthesizing a random set, and checking one. Later code
// reaches the models only through Open and Set.Path:
//
//	set, err := models.Open(dir)           // reads dir/models.json
//	lm, err := set.Paths(models.Captioner) // [LM.gguf, mmproj.gguf]
//	seg, err := set.Path(models.Segmenter) // a missing role names the role and
//	                                       // `multisc models pull segmenter --out DIR`
//
// # Roles and files
//
//	role           arch (converter)     file(s) in the folder
//	segmenter      fcn                  segmenter.gguf
//	detector       detr                 detector.gguf
//	captioner      llava (multi-file)   captioner.gguf (qwen2), captioner-mmproj.gguf (clip)
//	corrector      bart                 corrector.gguf
//	generator      sd15                 generator.gguf
//	ip-adapter     ipadapter            ip-adapter.gguf
//	image-encoder  clip (image encoder) image-encoder.gguf
//	lpips          lpips                lpips.gguf
//	embedder       clip (image encoder) embedder.gguf
//
// A role is convertible when its arch is registered in the binary
// (bindings.LookupArch with a Convert, or bindings.LookupMultiFile). The
// image-encoder and embedder roles are models/clip files with
// clip.projector_type "none" (a bare CLIP image encoder: pooled output,
// post-LN, visual projection), converted from one folder each: the
// IP-Adapter's CLIPVisionModelWithProjection (h94/IP-Adapter
// models/image_encoder: vision_model.*, visual_projection.weight) and the
// whole CLIPModel openai/clip-vit-large-patch14 (its text tower dropped).
// `models synth` writes them at the clip sizes of Entry.SynthSizes: tiny →
// tiny-encoder (projection 24, the tiny IP-Adapter's image_dim) and
// tiny-embedder; full → vit-h (ViT-H/14, projection 1024) and vit-l
// (ViT-L/14, projection 768). Check refuses an mmproj (projector "mlp") in
// those roles, naming the role and file.
//
// Width checks (Check; a mismatch names both roles and both files): the
// captioner LM's hidden size vs its mmproj's projector output; the UNet's
// sd15.unet.context_dim vs the IP-Adapter's ipadapter.cross_dim; the image
// encoder's clip.vision.projection_dim vs the IP-Adapter's
// ipadapter.image_dim (failing those keys, the input widths of
// ip_adapter.1.to_k_ip and image_proj.proj).
//
// # The manifest
//
// models.json, version 1:
//
//	{"version": 1, "roles": {"captioner": {"arch": "llava", "type": "f16",
//	  "source": "qnguyen3/nanoLLaVA ... — https://huggingface.co/...",
//	  "files": [{"path": "captioner.gguf", "arch": "qwen2", "size": 1234, "sha256": "..."},
//	            {"path": "captioner-mmproj.gguf", "arch": "clip", ...}]}, ...}}
//
// Paths are relative to the folder (a path leaving it is refused). The
// manifest is always written last and atomically (bindings/atomicfile).
//
// # Pull
//
// Pull fetches each role's catalogue files over HTTPS (Hugging Face through
// HF_ENDPOINT with HF_TOKEN as a bearer token sent to that endpoint only;
// download.pytorch.org and github.com, overridable for mirrors), into
// DIR/.checkpoints/<role>/..., as <file>.part with a <file>.part.json
// sidecar (URL, ETag). A dropped connection is retried and resumed with an
// HTTP Range request (If-Range: the ETag, so a changed file starts over); a
// partial file whose sidecar names another URL or sha256 is discarded; a
// pull that gave up (or was killed) resumes on the next run. Every finished
// file is checked against the catalogue's sha256 and size when known, else
// the hub's X-Linked-Etag (the sha256 of an LFS file), else torchvision's
// hash prefix in the file name; a mismatch deletes the file and says so.
// Each role is then converted by its registered converter into a staging
// folder; only when every role asked for is done are the GGUF files moved
// into DIR and models.json rewritten (merged with the roles already there).
// A failed pull leaves DIR's models and manifest as they were; its errors
// are one-line bad-input errors (HTTP 401/403 explains HF_TOKEN; 404, 5xx
// after retries, an idle timeout, a full disk, an unknown or not yet
// convertible role). With FromDir the files come from a local folder and no
// network is used.
//
// Catalogue caveats: the hub could not be reached when the table was
// written, so only what could be cited is pinned. SD 1.5's
// v1-5-pruned-emaonly.safetensors is pinned to revision 451f4fe1 of
// stable-diffusion-v1-5/stable-diffusion-v1-5 with size 4,265,146,304 and
// sha256 6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa
// (the hub's LFS oid, as in the hub CDN's download address for that file,
// AUTOMATIC1111's short hash [6ce0161689], and download scripts that
// check it against that revision). The other hub files use "main" and
// are checked against the hub's X-Linked-Etag (the LFS sha256) when the
// server sends one; torchvision's by the hash prefix in their names;
// LPIPS's alex.pth (a plain git file on GitHub) is pinned to a commit and
// checked against its size and sha256. A role's files download up to
// PullOptions.Parallel at a time.
package models

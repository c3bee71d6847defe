// Package clip holds the CLIP and SigLIP transformers of Multi-SC.
//
// # Vision side (files vision*.go)
//
// One vision-transformer port covers every image tower the project uses:
// CLIP ViT-L/14-336 (LLaVA-1.5), SigLIP so400m/14-384 (nanoLLaVA) and
// CLIP ViT-H/14-224 (the IP-Adapter image encoder). It reads llama.cpp's
// multimodal projector files ("mmproj", general.architecture = "clip",
// llama.cpp tools/mtmd/clip.cpp and clip-impl.h) as they are, and registers
// that architecture name, VisionArch = "clip", with ollama's model registry
// and bindings.RegisterArch.
//
// Forward (VisionModel.Encode): patch embedding (conv, stride = patch), the
// class token first when the file has one, learned position embeddings,
// optional pre-LN, pre-norm blocks (LN → MHA → residual, LN → MLP →
// residual) with the configured activation, optional post-LN, the selected
// feature layer, the patch rows (class token dropped), then LLaVA's "mlp"
// projector (mm.0 → GELU → mm.2). The activations are computed exactly in
// f32: QuickGELU as x·σ(1.702x) (CLIP), the tanh GELU composed from Tanh
// (SigLIP, clip.use_gelu = true) and the projector's GELU with erf (PyTorch
// nn.GELU()); ggml's own GELU kernels are fp16 table look-ups on CPU.
//
// Two deliberate differences from llama.cpp's llava graph
// (tools/mtmd/models/llava.cpp as vendored in ollama v0.17.4): llama.cpp
// concatenates the class embedding after the patches while still giving
// position i to row i and taking rows 1..n as patches (llama.cpp issue
// #25814), so each patch gets its neighbour's position embedding; this port
// follows CLIP (class token first). And llama.cpp uses the tanh GELU in the
// projector where LLaVA's PyTorch code uses erf.
//
// Image encoder (the IP-Adapter's CLIP ViT-H/14): Pooled gives Hugging
// Face CLIPVisionModelWithProjection's image_embeds (all blocks, class
// token, post-LN, visual projection) and HiddenStates(k) its
// hidden_states[k]. Such files come from `multisc convert --arch clip` on
// the encoder's folder alone: clip.projector_type "none" (this project's
// own value), tensors v.post_ln.* and v.proj.weight (visual_projection),
// and for the exact GELU (hidden_act "gelu") clip.use_gelu = true plus
// clip.vision.hidden_act = "gelu", which this port reads as erf.
//
// Synthesized image encoders (VisionConfig sizes, `multisc synth --arch
// clip --size S`): vit-h (OpenCLIP ViT-H/14 as the IP-Adapter ships it:
// 1280 wide, 32 layers, 16 heads, ff 5120, 224², patch 14, exact GELU,
// projection 1024), vit-l (OpenAI ViT-L/14: 1024, 24, 16, 4096, 224/14,
// QuickGELU, projection 768), tiny-encoder (projection VisionTinyEncoderDim
// = 24, the tiny IP-Adapter's image_dim) and tiny-embedder; their metadata
// is what the converter writes for a folder of that shape
// (VisionEncoderConfigFor). "tiny" and "full" remain LLaVA mmproj files.
//
// Feature layer: as llama.cpp, the tower runs block_count−1 blocks
// (LLaVA's mm_vision_select_layer = −2) unless clip.vision.feature_layer
// names the layer: k means the output of the first k blocks (0 = the
// embeddings), and post_ln is applied after the last block run when the
// file has it (llama.cpp's rule; LLaVA files therefore omit post_ln).
//
// Key mapping (Hugging Face CLIPVisionModel / SiglipVisionModel state dict →
// GGUF name → Go field):
//
//	vision_model.embeddings.patch_embedding.{weight,bias} → v.patch_embd.{weight,bias} → VisionModel.Tower.PatchEmbd
//	vision_model.embeddings.class_embedding               → v.class_embd                → Tower.ClassEmbd
//	vision_model.embeddings.position_embedding.weight     → v.position_embd.weight      → Tower.PosEmbd
//	vision_model.pre_layrnorm.{weight,bias}                → v.pre_ln.*                  → Tower.PreLN
//	vision_model.encoder.layers.N.layer_norm1.*           → v.blk.N.ln1.*               → Tower.Layers[N].LN1
//	vision_model.encoder.layers.N.self_attn.q_proj.*      → v.blk.N.attn_q.*            → Layers[N].Attention.Query
//	  (k_proj, v_proj, out_proj → attn_k, attn_v, attn_out)
//	vision_model.encoder.layers.N.layer_norm2.*           → v.blk.N.ln2.*               → Layers[N].LN2
//	vision_model.encoder.layers.N.mlp.fc1.*               → v.blk.N.ffn_up.*            → Layers[N].MLP.Up
//	vision_model.encoder.layers.N.mlp.fc2.*               → v.blk.N.ffn_down.*          → Layers[N].MLP.Down
//	vision_model.post_layernorm.*                         → v.post_ln.*                 → Tower.PostLN
//	model.mm_projector.{0,2}.* (LLaVA checkpoint)          → mm.{0,2}.*                  → VisionModel.Projector.MM0, MM2
//	visual_projection.weight (image encoder)              → v.proj.weight               → Tower.Proj
//
// An image encoder converts from one folder: a CLIPVisionModelWithProjection
// (h94/IP-Adapter models/image_encoder) or a whole CLIPModel
// (openai/clip-vit-large-patch14, config.json with vision_config), whose
// text_model.*, text_projection, logit_scale and position_ids are dropped;
// the result is CLIPModel.get_image_features (TestVisionEmbedderParity).
//
// Old mmproj files whose ffn_up/ffn_down are swapped (detected by shape, as
// llama.cpp's loader does) are read correctly. Metadata: clip.projector_type
// ("mlp"), clip.use_gelu, clip.vision.{embedding_length,
// feed_forward_length, block_count, attention.head_count,
// attention.layer_norm_epsilon, image_size, patch_size, image_mean,
// image_std, projection_dim, feature_layer}.
package clip

// Package llava is Multi-SC's captioner (Algorithm 1, step 3): LLaVA with a
// Qwen1.5/Qwen2 language model, read from llama.cpp's pair of GGUF files —
// the language model (general.architecture "qwen2": ollama's
// model/models/qwen2 loads it, and this package's decoder.go runs its
// token embedding, decoder layers, output norm and head) and the mmproj (general.architecture "clip", run by
// models/clip's vision tower and mlp projector).
//
// Captioning an image: llama.cpp's preprocessing for mlp projectors (fit to
// the tower's square on LLaVA's mean-colour background, bilinear, mean/std
// normalization), tower + projector to image tokens, the query rendered in
// the model's chat template (ChatML — Qwen's, and the fallback — or LLaVA's
// Vicuna format, detected from tokenizer.chat_template) and split at
// <image>, the projected image tokens spliced in place of the marker
// (ggml set_rows over the token embeddings), a causal KV cache per
// sequence (kvcache.Causal), and decoding with this package's sampler: greedy, or
// temperature / top-k / top-p with a seed (one stream per image). Decoding
// stops at the tokenizer's EOS, <|im_end|> or <|endoftext|>, or after
// MaxTokens; text is detokenized incrementally without ever splitting a
// UTF-8 character.
//
// Batch: Caption(images) encodes the images in one graph, fills each
// sequence's prompt on its own, then decodes them as parallel sequences of
// one batch (as ollama's runner batches its slots): one forward pass per
// step for all live sequences. Each sequence attends over its own cache
// only, and the step's few columns go through bindings.MulmatColumns, so a
// sequence gets the same logits, to the byte, in a batch as alone, and the
// weights are read once a step for all of them (decoder.go).
//
// Files: `multisc synth --arch llava --out LM.gguf` writes LM.gguf and
// LM-mmproj.gguf (SynthPair), with a real byte-level BPE tokenizer
// (SynthVocab) and Qwen's ChatML template; "full" has Qwen1.5-0.5B's shapes
// (24 layers, hidden 1024, 16 heads, FFN 2816, vocab 151936, tied output)
// and a CLIP ViT-L/14-336 tower. `multisc convert --arch llava` turns a
// LLaVA checkpoint folder and its vision tower's folder into the same pair
// (ConvertPair).
//
// LM tensor names are llama.cpp's qwen2 names; Hugging Face
// Qwen2ForCausalLM key → GGUF name (→ ollama qwen2.Model field):
//
//	model.embed_tokens.weight                    → token_embd.weight        (TokenEmbedding)
//	model.layers.N.input_layernorm.weight        → blk.N.attn_norm.weight   (Layers[N].AttentionNorm)
//	model.layers.N.self_attn.{q,k,v}_proj.*      → blk.N.attn_{q,k,v}.*     (Layers[N].Attention.Query/Key/Value)
//	model.layers.N.self_attn.o_proj.weight       → blk.N.attn_output.weight (Layers[N].Attention.Output)
//	model.layers.N.post_attention_layernorm.weight → blk.N.ffn_norm.weight  (Layers[N].MLPNorm)
//	model.layers.N.mlp.{gate,up,down}_proj.weight → blk.N.ffn_{gate,up,down}.weight (Layers[N].MLP)
//	model.norm.weight                            → output_norm.weight       (OutputNorm)
//	lm_head.weight (absent when tied)            → output.weight            (Output)
package llava

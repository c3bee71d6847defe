// Package pipeline is the Multi-SC system (Algorithm 1 of the paper): the
// transmitter, the link and the receiver composed from the model ports, and
// the record of every reconstruction.
//
// # The system
//
// OpenSystem opens a models folder (models.json; see pipeline/models): it
// checks that every role the chosen methods need is present (a missing
// role names the `multisc models pull ROLE` that fills it) and that widths
// agree across roles (models.Check: LM/mmproj, UNet/IP-Adapter, image
// encoder/IP-Adapter; a mismatch names both roles and files). Models load
// on first use (or all at once with Preload) and stay resident until
// Close. Each role sits behind a small interface (Segmenter, Detector,
// Captioner, Corrector, ImageEncoder, Generator, metrics.Embedder,
// Perceptual), so a method is a composition and tests substitute fakes:
//
//	role           model (package)                       used by
//	segmenter      FCN-ResNet50 (models/fcn)             slice i_m: MainObject of the label mask
//	detector       DETR-R50 (models/detr)                boxes → FusionSplit (multisc-fusion)
//	captioner      LLaVA (models/llava)                  one caption per block, all blocks in one batch
//	corrector      BART (models/bart)                    every received caption, one call
//	image-encoder  CLIP ViT-H/14 (models/clip, "none")   embedding of the received slice
//	ip-adapter     IP-Adapter SD 1.5 (models/ipadapter)  image prompt in every UNet cross-attention
//	generator      SD 1.5 (models/sd)                    the reconstruction (captions as 77-token chunks)
//	lpips          LPIPS v0.1 alex (models/lpips)        metric
//	embedder       CLIP vision (models/clip, "none")     cosine similarity (else raw pixels, named so)
//
// # Methods
//
//	multisc-fusion  slice + fusion split of DETR boxes + one caption per block + IP-Adapter (the paper's proposal)
//	multisc-random  the same with a seeded random split into SystemOptions.RandomBlocks blocks
//	single-text     slice + one caption of the whole image + IP-Adapter
//	vlm-csc         one caption of the whole image, text-only generation, no slice. The original
//	                VLM-CSC used BLIP; ours uses the same captioner as the other methods.
//
// When the segmenter finds no object (all background) no slice is sent and
// the receiver generates from the captions alone; so it does when a
// digital slice is lost.
//
// # Transmitter, payload, link, receiver
//
// Transmit computes the transmission of one image and method (slice,
// blocks, captions, per-stage seconds). It does not depend on the channel
// or SNR: a sweep computes it once and reuses it for every SNR (Row copies
// its stage seconds into each record). Its Payload is the file `multisc
// transmit` writes (format in Payload's comment): header + captions +
// slice, with its size in bits (Bits, TextBits, SliceBits, HeaderBits);
// DecodePayload checks every length and names the file on any error.
//
// SendPayload is the link at an SNR given as Es/N0 in dB. Each caption
// travels on its own channel (own noise and fading, seeded from the row
// seed and the block index), as UTF-8 bits, uncoded with QPSK by default
// (the paper: channel noise shows up as misspellings for BART to repair;
// SystemOptions.TextCode selects an LDPC code instead). The slice travels
// on its own channel: analog by default (its 8-bit RGB samples, power
// normalised, as complex symbols; the receiver gets noisy pixels i'_m), or
// digital (a JPEG of SystemOptions.JPEGQuality, CRC-32 framed, over the
// SliceCode LDPC code; a CRC failure or undecodable JPEG is a lost slice,
// Record.SliceLost, never a crash).
//
// Receive corrects every caption with BART, encodes the received slice
// with the image encoder and generates with SD 1.5 + IP-Adapter
// (SystemOptions: steps, CFG, sampler, size, IP scale, text mode). Row =
// Receive + Record: cosine similarity (embedder), LPIPS, PSNR and SSIM of
// the reconstruction resized (Catmull-Rom) to the image's size, BLEU of the
// received and corrected captions against the sent ones and, with
// reference captions, of the sent and corrected ones against those;
// per-stage seconds, peak RSS, the models' sha256.
//
// # Seeds
//
// Everything random takes a seed: the random split uses the transmitter's
// seed (TransmitSeed); link noise and fading, per caption and for the
// slice, and the generator's latents derive from the row seed (RowSeed).
// The same seeds give the same bytes on the CPU.
package pipeline

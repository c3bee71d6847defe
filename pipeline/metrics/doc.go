// Package metrics scores a reconstruction against its reference: BLEU for
// text (sacrebleu- and NLTK-compatible), PSNR and SSIM for images
// (scikit-image-compatible), and cosine similarity over a pluggable image
// embedding.
//
// Each metric copies the semantics of a named reference implementation, and
// testdata/ holds vectors produced by that implementation (the generator
// scripts sit next to them), so a number from this package can be put next to
// a number from a Python paper without a footnote.
package metrics

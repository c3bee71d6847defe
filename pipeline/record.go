package pipeline

import (
	"encoding/binary"
	"hash/fnv"
	"image"
	"strconv"
)

// Record is one reconstruction: the JSON record `multisc run` writes beside
// its outputs, and one row of an eval sweep's JSONL. Everything that made the
// result is in it (method, channel, SNR, seeds, model files and hashes), so a
// row can be reproduced and rows from different runs can be compared.
//
// The key of a row in a sweep is (Dataset, ImageID, Method, Channel, SNR):
// see Key.
type Record struct {
	Version int    `json:"version"` // RecordVersion
	Dataset string `json:"dataset,omitempty"`
	ImageID string `json:"image_id"` // dataset id, or the file stem for loose images
	Image   string `json:"image"`    // the image's path
	Width   int    `json:"width,omitempty"`
	Height  int    `json:"height,omitempty"`

	Method  string  `json:"method"`  // multisc-fusion, multisc-random, single-text, vlm-csc
	Channel string  `json:"channel"` // awgn, rayleigh
	SNR     float64 `json:"snr_db"`  // Es/N0 in dB
	// Seed is the row's seed: the link's noise and the generator's latents
	// derive from it (and the random split, for multisc-random).
	Seed uint64 `json:"seed"`

	Blocks    int             `json:"blocks"`
	Captions  []CaptionRecord `json:"captions"`
	BitsText  int64           `json:"bits_text"`  // caption payload bits (before coding)
	BitsSlice int64           `json:"bits_slice"` // slice payload bits (analog: 8 per sample)
	SliceSent bool            `json:"slice_sent"`
	SliceLost bool            `json:"slice_lost,omitempty"` // digital slice whose CRC failed

	Metrics Metrics `json:"metrics"`
	// Seconds per stage (segment, detect, split, caption, link, correct,
	// encode_image, generate, metrics) and "total". Transmitter stages are
	// measured once per image and method and copied into every row that
	// reuses them (Reused says so).
	Seconds map[string]float64 `json:"seconds"`
	Reused  bool               `json:"transmit_reused,omitempty"`
	// PeakRSS is the process's peak resident memory in bytes when the row
	// was written (VmHWM on Linux; 0 where unknown).
	PeakRSS int64 `json:"peak_rss_bytes"`

	// Models maps each role used to its file's sha256 (from the manifest).
	Models map[string]string `json:"models,omitempty"`
	// Error is set when the row could not be computed (the image failed to
	// load, say); the sweep records it and goes on.
	Error string `json:"error,omitempty"`
}

// RecordVersion is the version of the Record schema.
const RecordVersion = 1

// CaptionRecord is one block's caption at each end of the link.
type CaptionRecord struct {
	Sent      string `json:"sent"`
	Received  string `json:"received"`
	Corrected string `json:"corrected"`
	BitErrors int    `json:"bit_errors"`
}

// Metrics of one reconstruction. Pointers are nil where a metric was not
// computed (no reference captions, say); a sweep's means skip them.
type Metrics struct {
	Cosine   *float64 `json:"cosine,omitempty"`
	Embedder string   `json:"embedder,omitempty"` // the embedding Cosine used
	LPIPS    *float64 `json:"lpips,omitempty"`
	PSNR     *float64 `json:"psnr,omitempty"`
	SSIM     *float64 `json:"ssim,omitempty"`
	// BLEU of the received and of the corrected captions against the sent
	// ones (sentence BLEU-4 averaged over blocks).
	BLEUReceived  *float64 `json:"bleu_received,omitempty"`
	BLEUCorrected *float64 `json:"bleu_corrected,omitempty"`
	// BLEU of the sent and corrected captions against the dataset's
	// reference captions (COCO).
	BLEUSentRef      *float64 `json:"bleu_sent_ref,omitempty"`
	BLEUCorrectedRef *float64 `json:"bleu_corrected_ref,omitempty"`
}

// Key identifies a row in a sweep.
type Key struct {
	Dataset, ImageID, Method, Channel string
	SNR                               float64
}

// Key returns the record's sweep key.
func (r *Record) Key() Key {
	return Key{r.Dataset, r.ImageID, r.Method, r.Channel, r.SNR}
}

// The methods a run or a sweep can use (--method, --methods).
const (
	MethodFusion     = "multisc-fusion" // the paper's proposal: fusion split, one caption per block, slice, IP-Adapter
	MethodRandom     = "multisc-random" // the same with a seeded random split
	MethodSingleText = "single-text"    // one caption of the whole image, slice, IP-Adapter
	MethodVLMCSC     = "vlm-csc"        // one caption of the whole image, text-only generation, no slice
)

// Methods lists every method in the order reports show them.
var Methods = []string{MethodFusion, MethodRandom, MethodSingleText, MethodVLMCSC}

// TransmitRequest is one image for the transmitter (Seed drives the random
// split; see TransmitSeed). RefCaptions are the dataset's captions (COCO)
// for the reference BLEU; nil elsewhere.
type TransmitRequest struct {
	Dataset     string
	ImageID     string
	Path        string
	Image       image.Image
	Method      string
	Seed        uint64
	RefCaptions []string
}

// TransmitSeed derives the transmitter's seed for an image and method from
// a sweep's base seed: every SNR of the image reuses the same transmission.
func TransmitSeed(base uint64, dataset, imageID, method string) uint64 {
	return mixSeed(base, dataset, imageID, method)
}

// RowSeed derives a row's seed (link noise, generator latents) from a
// sweep's base seed and the row's key, so a row's result never depends on
// which other rows ran before it, or on sharding.
func RowSeed(base uint64, k Key) uint64 {
	return mixSeed(base, k.Dataset, k.ImageID, k.Method, k.Channel, strconv.FormatFloat(k.SNR, 'g', -1, 64))
}

// mixSeed hashes the base and the parts (FNV-1a, parts separated by a 0
// byte) and finishes with splitmix64 so that near keys give far seeds.
func mixSeed(base uint64, parts ...string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], base)
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	z := h.Sum64() + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

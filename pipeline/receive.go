package pipeline

import (
	"image"
	"math"
	"strings"
	"time"

	"golang.org/x/image/draw"

	"github.com/multisc/multisc/internal/procmem"
	"github.com/multisc/multisc/pipeline/metrics"
	"github.com/multisc/multisc/pipeline/models"
)

// Reception is the receiver's work for one transmission, channel and SNR.
type Reception struct {
	Channel string
	SNR     float64
	Seed    uint64 // the row seed: link noise and generator latents derive from it

	Link     *LinkResult
	Captions []CaptionRecord // sent, received, corrected per block
	// Image is the reconstruction at the generation size.
	Image image.Image
	// Seconds per receiver stage: link, correct, encode_image, generate.
	Seconds map[string]float64
}

// Receive runs the link and the receiver: every caption and the slice
// through the channel (SendPayload), BART correction of all captions in
// one call, the image encoder on the received slice, and SD 1.5 with the
// IP-Adapter (the corrected captions as multi-text conditioning, the noisy
// slice as image prompt) — for vlm-csc, or when no slice arrived (none
// found, or a lost digital slice), text-only generation.
func (s *System) Receive(tx *Transmission, ch string, snr float64, seed uint64) (*Reception, error) {
	rx := &Reception{Channel: ch, SNR: snr, Seed: seed, Seconds: map[string]float64{}}
	id := tx.Request.ImageID
	s.progress("%s: link (%s, %g dB)", id, ch, snr)
	t := time.Now()
	link, err := s.SendPayload(tx, ch, snr, seed)
	if err != nil {
		return nil, err
	}
	rx.Link = link
	rx.Seconds["link"] = time.Since(t).Seconds()

	corr, err := s.corrector()
	if err != nil {
		return nil, err
	}
	s.progress("%s: correct %d caption(s)", id, len(link.Captions))
	t = time.Now()
	received := make([]string, len(link.Captions))
	for i, c := range link.Captions {
		received[i] = c.Text
	}
	corrected, err := corr.CorrectTexts(received)
	if err != nil {
		return nil, err
	}
	rx.Seconds["correct"] = time.Since(t).Seconds()
	for i, c := range link.Captions {
		rx.Captions = append(rx.Captions, CaptionRecord{Sent: c.Sent, Received: c.Text, Corrected: corrected[i], BitErrors: c.BitErrors})
	}

	var embed []float32
	if link.Slice != nil && usesSlice(tx.Payload.Method) {
		enc, err := s.imageEncoder()
		if err != nil {
			return nil, err
		}
		s.progress("%s: encode slice", id)
		t = time.Now()
		if embed, err = enc.EncodeImage(link.Slice); err != nil {
			return nil, err
		}
		rx.Seconds["encode_image"] = time.Since(t).Seconds()
	}
	gen, err := s.generator()
	if err != nil {
		return nil, err
	}
	s.progress("%s: generate (%d steps, %dx%d)", id, s.Opts.Steps, s.Opts.Width, s.Opts.Height)
	t = time.Now()
	if rx.Image, err = gen.GenerateImage(GenerateRequest{Captions: corrected, ImageEmbedding: embed, Seed: generateSeed(seed)}); err != nil {
		return nil, err
	}
	rx.Seconds["generate"] = time.Since(t).Seconds()
	return rx, nil
}

// Row is one complete record: Receive, then the metrics of the
// reconstruction against the transmitted image (tx.Request.Image; metrics
// are left out when it is nil): cosine similarity of embeddings (the
// embedder role, else raw pixels; the name is recorded), LPIPS, PSNR, SSIM
// (the reconstruction resized to the reference's size, Catmull-Rom), BLEU
// of the received and corrected captions against the sent ones and, with
// reference captions, of the sent and corrected ones against them;
// per-stage seconds (transmitter stages copied from tx), peak RSS, the
// models' sha256. Record.Reused is the sweep's to set.
func (s *System) Row(tx *Transmission, ch string, snr float64, seed uint64) (Record, error) {
	rec, _, err := s.RowReception(tx, ch, snr, seed)
	return rec, err
}

// RowReception is Row that also returns the reception (the reconstruction
// and the received slice, for callers that write them).
func (s *System) RowReception(tx *Transmission, ch string, snr float64, seed uint64) (Record, *Reception, error) {
	t0 := time.Now()
	rx, err := s.Receive(tx, ch, snr, seed)
	if err != nil {
		return Record{}, nil, err
	}
	rec, err := s.Record(tx, rx)
	if err != nil {
		return Record{}, nil, err
	}
	// total: the transmitter's stages (measured once per image) plus this
	// row's wall time, so pipeline overhead beyond the stages shows.
	total := time.Since(t0).Seconds()
	for _, v := range tx.Seconds {
		total += v
	}
	rec.Seconds["total"] = total
	return rec, rx, nil
}

// Record builds the Record of a reception, with its metrics (see Row).
func (s *System) Record(tx *Transmission, rx *Reception) (Record, error) {
	p := &tx.Payload
	rec := Record{Version: RecordVersion, Dataset: tx.Request.Dataset, ImageID: tx.Request.ImageID, Image: tx.Request.Path,
		Width: p.Width, Height: p.Height, Method: p.Method, Channel: rx.Channel, SNR: rx.SNR, Seed: rx.Seed,
		Blocks: len(p.Blocks), Captions: rx.Captions, BitsText: p.TextBits(), BitsSlice: p.SliceBits(),
		SliceSent: rx.Link.SliceSent, SliceLost: rx.Link.SliceLost, Seconds: map[string]float64{}}
	total := 0.0
	for k, v := range tx.Seconds {
		rec.Seconds[k] = v
		total += v
	}
	for k, v := range rx.Seconds {
		rec.Seconds[k] = v
		total += v
	}
	roles := MethodRoles(p.Method)
	if ref := tx.Request.Image; ref != nil && !s.Opts.NoMetrics {
		t := time.Now()
		if err := s.measure(&rec.Metrics, ref, rx.Image); err != nil {
			return Record{}, err
		}
		rec.Seconds["metrics"] = time.Since(t).Seconds()
		total += rec.Seconds["metrics"]
		roles = append(roles, models.LPIPS)
		if s.Set != nil && s.Set.Has(models.Embedder) {
			roles = append(roles, models.Embedder)
		}
	}
	m := &rec.Metrics
	var sent, recv, corr []string
	for _, c := range rx.Captions {
		sent, recv, corr = append(sent, c.Sent), append(recv, c.Received), append(corr, c.Corrected)
	}
	m.BLEUReceived = meanBLEU(recv, func(i int) []string { return []string{sent[i]} })
	m.BLEUCorrected = meanBLEU(corr, func(i int) []string { return []string{sent[i]} })
	if refs := tx.Request.RefCaptions; len(refs) > 0 {
		m.BLEUSentRef = meanBLEU(sent, func(int) []string { return refs })
		m.BLEUCorrectedRef = meanBLEU(corr, func(int) []string { return refs })
	}
	rec.Seconds["total"] = total
	rec.PeakRSS = procmem.PeakRSS()
	rec.Models = s.modelHashes(roles)
	return rec, nil
}

// measure fills the image metrics of a reconstruction against ref.
func (s *System) measure(m *Metrics, ref, recon image.Image) error {
	rb := ref.Bounds()
	img := recon
	if recon.Bounds().Size() != rb.Size() {
		dst := image.NewNRGBA(image.Rect(0, 0, rb.Dx(), rb.Dy()))
		draw.CatmullRom.Scale(dst, dst.Bounds(), recon, recon.Bounds(), draw.Src, nil)
		img = dst
	}
	emb, err := s.embedder()
	if err != nil {
		return err
	}
	m.Embedder = emb.Name()
	c, err := metrics.Cosine(emb, ref, img)
	if err != nil {
		return err
	}
	m.Cosine = finite(c)
	lp, err := s.lpips()
	if err != nil {
		return err
	}
	a, b := lpipsSize(ref), lpipsSize(img)
	if a.Bounds().Dx() >= 32 && a.Bounds().Dy() >= 32 {
		d, err := lp.Distance(a, b)
		if err != nil {
			return err
		}
		m.LPIPS = finite(d)
	}
	if v, err := metrics.PSNR(ref, img); err != nil {
		return err
	} else {
		m.PSNR = finite(v)
	}
	if v, err := metrics.SSIM(ref, img); err != nil {
		return err
	} else {
		m.SSIM = finite(v)
	}
	return nil
}

// lpipsMaxPixels bounds the LPIPS input (larger images are downscaled,
// aspect kept, as `multisc metrics` does by default).
const lpipsMaxPixels = 1 << 20

func lpipsSize(img image.Image) image.Image {
	b := img.Bounds()
	n := b.Dx() * b.Dy()
	if n <= lpipsMaxPixels {
		return img
	}
	f := math.Sqrt(float64(lpipsMaxPixels) / float64(n))
	w, h := max(1, int(float64(b.Dx())*f)), max(1, int(float64(b.Dy())*f))
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

// meanBLEU is the mean sentence BLEU (sacrebleu defaults, 0–100) of hyps
// against refs(i); nil when there is nothing to score.
func meanBLEU(hyps []string, refs func(i int) []string) *float64 {
	if len(hyps) == 0 {
		return nil
	}
	sum, n := 0.0, 0
	for i, h := range hyps {
		r := refs(i)
		nonEmpty := false
		for _, x := range r {
			nonEmpty = nonEmpty || strings.TrimSpace(x) != ""
		}
		if !nonEmpty {
			continue
		}
		sc, err := metrics.SacreSentenceBLEU(h, r)
		if err != nil {
			continue
		}
		sum += sc.Score
		n++
	}
	if n == 0 {
		return nil
	}
	return finite(sum / float64(n))
}

// finite boxes v, or nil when it is NaN or infinite (JSON has neither).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

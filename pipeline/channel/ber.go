package channel

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// uncodedBlock is the number of bits per block on an uncoded link: 1944,
// like the longest codeword, and a multiple of every modulation's bits per
// symbol.
const uncodedBlock = 1944

// batchBits is roughly how many information bits one unit of parallel work
// simulates; each batch has its own PCG stream, so results do not depend on
// the number of workers.
const batchBits = 1 << 15

// BERPoint is the result at one SNR.
type BERPoint struct {
	EsN0dB      float64 `json:"esn0_db"`
	EbN0dB      float64 `json:"ebn0_db"`
	Bits        int64   `json:"bits"`
	BitErrors   int64   `json:"bit_errors"`
	BER         float64 `json:"ber"`
	Blocks      int64   `json:"blocks"`       // codewords (coded) or 1944-bit blocks (uncoded)
	BlockErrors int64   `json:"block_errors"` // blocks with at least one wrong information bit
	BLER        float64 `json:"bler"`
	Theory      float64 `json:"-"` // NaN where no closed form exists (coded links)
	AvgIter     float64 `json:"avg_iterations,omitempty"`
}

// HasTheory reports whether Theory holds a closed-form BER.
func (p BERPoint) HasTheory() bool { return !math.IsNaN(p.Theory) }

// SimOptions control SimulateBER.
type SimOptions struct {
	Seed     uint64
	Workers  int              // goroutines; 0 means GOMAXPROCS
	Progress func(bits int64) // called after each batch with its bits (serialized)
}

// SimBits is the number of information bits SimulateBER actually sends for
// a request of nbits: whole blocks (K bits per codeword, 1944 uncoded), at
// least one.
func (l *Link) SimBits(nbits int64) int64 {
	block := int64(uncodedBlock)
	if l.Code != nil {
		block = int64(l.Code.K)
	}
	return max((nbits+block-1)/block, 1) * block
}

// SimulateBER sends at least nbits random information bits over the link at
// Es/N0 = esn0DB and counts errors. Work is split into batches of whole
// blocks; batch b draws everything (bits, fading, noise) from
// PCG(opt.Seed ⊕ mix(esn0DB), b), so the result depends only on the seed and
// the SNR: not on the worker count, nor on the other SNRs of a sweep.
func SimulateBER(l *Link, esn0DB float64, nbits int64, opt SimOptions) BERPoint {
	block := int64(uncodedBlock)
	if l.Code != nil {
		block = int64(l.Code.K)
	}
	blocks := max((nbits+block-1)/block, 1)
	perBatch := max(batchBits/block, 1)
	batches := (blocks + perBatch - 1) / perBatch
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = int(min(int64(workers), batches))
	n0 := N0(esn0DB)
	seed := opt.Seed ^ splitmix64(math.Float64bits(esn0DB))

	type result struct{ errs, blockErrs, iters int64 }
	results := make([]result, batches)
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newModem(l)
			info := make([]uint8, block)
			got := make([]uint8, block)
			var tx []uint8
			var infos []uint8
			for {
				b := next.Add(1) - 1
				if b >= batches {
					return
				}
				r := rand.New(rand.NewPCG(seed, uint64(b)))
				nb := min(perBatch, blocks-b*perBatch)
				infos, tx = infos[:0], tx[:0]
				for range nb {
					for i := range info {
						info[i] = uint8(r.Uint32() & 1)
					}
					infos = append(infos, info...)
					tx = w.encode(tx, info)
				}
				w.iters = 0
				llr, _ := w.send(r, tx, n0)
				var res result
				per := len(tx) / int(nb)
				for k := range int(nb) {
					w.decode(llr[k*per:(k+1)*per], got)
					e := int64(CountBitErrors(got, infos[k*int(block):(k+1)*int(block)]))
					res.errs += e
					if e > 0 {
						res.blockErrs++
					}
				}
				res.iters = int64(w.iters)
				results[b] = res
				if opt.Progress != nil {
					mu.Lock()
					opt.Progress(nb * block)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()

	p := BERPoint{
		EsN0dB: esn0DB,
		EbN0dB: EbN0(esn0DB, l.Mod.Bits, l.Rate()),
		Bits:   blocks * block,
		Blocks: blocks,
		Theory: math.NaN(),
	}
	var iters int64
	for _, r := range results {
		p.BitErrors += r.errs
		p.BlockErrors += r.blockErrs
		iters += r.iters
	}
	p.BER = float64(p.BitErrors) / float64(p.Bits)
	p.BLER = float64(p.BlockErrors) / float64(p.Blocks)
	if l.Code == nil {
		p.Theory = TheoryBER(l.Mod, l.Channel.Kind, esn0DB)
	} else {
		p.AvgIter = float64(iters) / float64(p.Blocks)
	}
	return p
}

// splitmix64 is a bijective 64-bit mixer (Steele et al.); it turns the SNR's
// bit pattern into a well-spread seed offset.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

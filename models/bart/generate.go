package bart

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// GenerationConfig holds Hugging Face's generation settings (v4.26.1
// semantics). Token ids are −1 when absent.
type GenerationConfig struct {
	BOS, EOS, Pad, DecoderStart int
	ForcedBOS, ForcedEOS        int
	NumBeams                    int     // 1: greedy search
	MaxLength                   int     // of the decoder sequence, start token included
	MinLength                   int     // </s> is banned before this length
	NoRepeatNgram               int     // 0: off
	LengthPenalty               float64 // beam scores are sum log p / length^LengthPenalty
	EarlyStopping               bool    // stop a beam search once NumBeams hypotheses are done
}

// Check reports an impossible setting.
func (g GenerationConfig) Check(vocab int) error {
	switch {
	case g.NumBeams < 1:
		return fmt.Errorf("num_beams %d: want at least 1", g.NumBeams)
	case g.MaxLength < 2:
		return fmt.Errorf("max_length %d: want at least 2", g.MaxLength)
	case g.DecoderStart < 0 || g.DecoderStart >= vocab:
		return fmt.Errorf("decoder_start_token_id %d is not in the vocabulary", g.DecoderStart)
	case g.EOS >= vocab || g.Pad >= vocab || g.ForcedBOS >= vocab || g.ForcedEOS >= vocab:
		return fmt.Errorf("a special token id is outside the vocabulary of %d", vocab)
	case g.NoRepeatNgram < 0 || g.MinLength < 0:
		return fmt.Errorf("no_repeat_ngram_size and min_length must not be negative")
	}
	return nil
}

// process applies HF's logits processors in generate()'s order —
// NoRepeatNGram, MinLength, ForcedBOSToken, ForcedEOSToken — to the scores
// of one row whose sequence so far is seq (cur = len(seq)).
func (g GenerationConfig) process(scores []float32, seq []int32) {
	cur := len(seq)
	inf := float32(math.Inf(-1))
	if n := g.NoRepeatNgram; n > 0 && cur+1 >= n {
		prefix := seq[cur+1-n:]
		for j := 0; j+n <= cur; j++ {
			if slices.Equal(seq[j:j+n-1], prefix) {
				scores[seq[j+n-1]] = inf
			}
		}
	}
	if g.EOS >= 0 && cur < g.MinLength {
		scores[g.EOS] = inf
	}
	force := func(id int) {
		for i := range scores {
			scores[i] = inf
		}
		scores[id] = 0
	}
	if g.ForcedBOS >= 0 && cur == 1 {
		force(g.ForcedBOS)
	}
	if g.ForcedEOS >= 0 && cur == g.MaxLength-1 {
		force(g.ForcedEOS)
	}
}

// Input is one encoder input: token ids with <s> … </s>.
type Input []int32

// Generate decodes every input with greedy search (g.NumBeams == 1) or beam
// search, batched: all inputs run through the encoder together and decode
// side by side. It returns each input's best sequence as HF's generate()
// does: decoder start token first, </s> last unless max_length was reached;
// greedy rows that finished early are not padded.
func (m *Model) Generate(inputs []Input, g GenerationConfig) ([][]int32, error) {
	if err := g.Check(m.Vocab); err != nil {
		return nil, err
	}
	if len(inputs) == 0 {
		return nil, nil
	}
	s := 0
	lens := make([]int, len(inputs))
	for i, in := range inputs {
		if len(in) == 0 || len(in) > m.MaxPositions {
			return nil, fmt.Errorf("input %d has %d tokens, want 1 … %d", i, len(in), m.MaxPositions)
		}
		lens[i] = len(in)
		s = max(s, len(in))
	}
	if g.MaxLength > m.MaxPositions {
		g.MaxLength = m.MaxPositions
	}
	ids := make([]int32, s*len(inputs))
	for i, in := range inputs {
		for j := range s {
			ids[i*s+j] = int32(max(g.Pad, 0))
		}
		copy(ids[i*s:], in)
	}
	beams := g.NumBeams
	st := m.NewState(lens, s, beams, g.MaxLength)
	defer st.Close()
	b := m.Backend()
	func() {
		ctx := b.NewContext()
		defer ctx.Close()
		m.CrossKV(ctx, st, m.Encode(ctx, ids, lens, s))
		ctx.Compute()
	}()
	if beams == 1 {
		return m.greedy(st, g)
	}
	return m.beamSearch(st, g)
}

// step runs one decoding step (one token per row) after an optional cache
// reorder and returns the logits [NB][V].
func (m *Model) step(st *State, tokens []int32, reorder []int32) [][]float32 {
	ctx := m.Backend().NewContext()
	defer ctx.Close()
	if reorder != nil {
		m.Reorder(ctx, st, reorder)
	}
	logits := m.Step(ctx, st, tokens, 1)
	ctx.Forward(logits).Compute(logits)
	flat := logits.Floats()
	st.Pos++
	out := make([][]float32, st.NB)
	for i := range out {
		out[i] = flat[i*m.Vocab : (i+1)*m.Vocab]
	}
	return out
}

// greedy is greedy_search: argmax of the processed logits; finished rows
// get <pad> (and are trimmed from the result) until all rows have produced
// </s> or the sequences reach max_length.
func (m *Model) greedy(st *State, g GenerationConfig) ([][]int32, error) {
	seqs := make([][]int32, st.NB)
	done := make([]bool, st.NB)
	for i := range seqs {
		seqs[i] = []int32{int32(g.DecoderStart)}
	}
	for {
		last := make([]int32, st.NB)
		for i, s := range seqs {
			last[i] = s[len(s)-1]
		}
		logits := m.step(st, last, nil)
		allDone := true
		for i, sc := range logits {
			if done[i] {
				seqs[i] = append(seqs[i], int32(g.Pad))
				continue
			}
			g.process(sc, seqs[i])
			best := 0
			for j, v := range sc {
				if v > sc[best] {
					best = j
				}
			}
			seqs[i] = append(seqs[i], int32(best))
			if best == g.EOS {
				done[i] = true
			} else {
				allDone = false
			}
		}
		if allDone || len(seqs[0]) >= g.MaxLength {
			break
		}
	}
	for i, s := range seqs {
		if k := slices.Index(s[1:], int32(g.EOS)); k >= 0 && g.EOS >= 0 {
			seqs[i] = s[:k+2]
		}
	}
	return seqs, nil
}

// hyps is BeamHypotheses: the best finished sequences of one input.
type hyps struct {
	k     int
	lp    float64
	early bool
	beams []hyp
	worst float64
}

type hyp struct {
	score float64
	seq   []int32
}

func (h *hyps) add(seq []int32, sumLogprobs float64) {
	score := sumLogprobs / math.Pow(float64(len(seq)), h.lp)
	if len(h.beams) < h.k || score > h.worst {
		h.beams = append(h.beams, hyp{score, slices.Clone(seq)})
		if len(h.beams) > h.k {
			// drop the worst (the first of equal scores), as HF's sorted() does
			order := make([]int, len(h.beams))
			for i := range order {
				order[i] = i
			}
			sort.SliceStable(order, func(a, b int) bool { return h.beams[order[a]].score < h.beams[order[b]].score })
			h.worst = h.beams[order[1]].score
			h.beams = slices.Delete(h.beams, order[0], order[0]+1)
		} else {
			h.worst = min(score, h.worst)
		}
	}
}

func (h *hyps) isDone(best float64, cur int) bool {
	if len(h.beams) < h.k {
		return false
	}
	if h.early {
		return true
	}
	return h.worst >= best/math.Pow(float64(cur), h.lp)
}

// best is the highest-scoring hypothesis (the last of equal scores, as
// sorted(...).pop() gives).
func (h *hyps) best() []int32 {
	bi := 0
	for i, b := range h.beams {
		if b.score >= h.beams[bi].score {
			bi = i
		}
	}
	return h.beams[bi].seq
}

type cand struct {
	score float64
	beam  int // row within the input's beams
	token int
}

// beamSearch is beam_search with BeamSearchScorer: each step keeps the
// 2·k best (beam, token) continuations by cumulated processed log-softmax
// score, sends those ending in </s> among the top k to the hypotheses and
// keeps the first k others as the next beams.
func (m *Model) beamSearch(st *State, g GenerationConfig) ([][]int32, error) {
	k, nb := g.NumBeams, st.NB
	b := nb / k
	seqs := make([][]int32, nb)
	scores := make([]float64, nb)
	for i := range seqs {
		seqs[i] = []int32{int32(g.DecoderStart)}
		if i%k != 0 {
			scores[i] = -1e9
		}
	}
	hs := make([]*hyps, b)
	for i := range hs {
		hs[i] = &hyps{k: k, lp: g.LengthPenalty, early: g.EarlyStopping, worst: 1e9}
	}
	done := make([]bool, b)
	var reorder []int32
	for {
		cur := len(seqs[0])
		last := make([]int32, nb)
		for i, s := range seqs {
			last[i] = s[len(s)-1]
		}
		logits := m.step(st, last, reorder)
		next := make([][]int32, nb)
		nextScores := make([]float64, nb)
		reorder = make([]int32, nb)
		for bi := range b {
			if done[bi] {
				for j := range k {
					r := bi*k + j
					next[r] = append(slices.Clone(seqs[r]), int32(max(g.Pad, 0)))
					reorder[r] = int32(r)
				}
				continue
			}
			top := make([]cand, 0, 2*k)
			for j := range k {
				r := bi*k + j
				ls := logSoftmax(logits[r]) // in place: the logits are ours
				g.process(ls, seqs[r])
				for t, x := range ls {
					top = pushTop(top, cand{float64(x) + scores[r], j, t}, 2*k)
				}
			}
			j := 0
			for rank, c := range top {
				r := bi*k + c.beam
				if c.token == g.EOS {
					if rank >= k {
						continue
					}
					hs[bi].add(seqs[r], c.score)
				} else {
					dst := bi*k + j
					next[dst] = append(slices.Clone(seqs[r]), int32(c.token))
					nextScores[dst] = c.score
					reorder[dst] = int32(r)
					j++
				}
				if j == k {
					break
				}
			}
			if j < k {
				return nil, fmt.Errorf("bart: beam search found only %d continuations for %d beams", j, k)
			}
			done[bi] = done[bi] || hs[bi].isDone(top[0].score, cur)
		}
		seqs, scores = next, nextScores
		if !slices.Contains(done, false) || len(seqs[0]) >= g.MaxLength {
			break
		}
	}
	out := make([][]int32, b)
	for bi := range b {
		if !done[bi] {
			for j := range k {
				hs[bi].add(seqs[bi*k+j], scores[bi*k+j])
			}
		}
		best := slices.Clone(hs[bi].best())
		if len(best) < g.MaxLength && g.EOS >= 0 {
			best = append(best, int32(g.EOS))
		}
		out[bi] = best
	}
	return out, nil
}

// pushTop inserts c into top (highest score first, at most n entries) when
// it is among the n best seen; candidates arrive in flat order (beam·V +
// token) and an equal score never displaces an earlier one, the order
// torch.topk gives on this fixture's ties.
func pushTop(top []cand, c cand, n int) []cand {
	if len(top) == n && !(c.score > top[n-1].score) {
		return top
	}
	i := len(top)
	for i > 0 && c.score > top[i-1].score {
		i--
	}
	if len(top) < n {
		top = append(top, cand{})
	}
	copy(top[i+1:], top[i:len(top)-1])
	top[i] = c
	return top
}

// logSoftmax turns x into log_softmax(x) in place (f32 like torch, the sum
// in f64) and returns it.
func logSoftmax(x []float32) []float32 {
	mx := float32(math.Inf(-1))
	for _, v := range x {
		mx = max(mx, v)
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v - mx))
	}
	ls := float32(math.Log(sum))
	for i, v := range x {
		x[i] = v - mx - ls
	}
	return x
}

// TeacherForced runs the decoder teacher-forced on dec [T·NB] ids (the fixture
// check) and returns the logits [V, T, NB] and the encoder output.
func (m *Model) TeacherForced(inputs []Input, dec [][]int32) (logits, enc []float32, err error) {
	s := 0
	lens := make([]int, len(inputs))
	for i, in := range inputs {
		lens[i] = len(in)
		s = max(s, len(in))
	}
	t := len(dec[0])
	ids := make([]int32, s*len(inputs))
	for i, in := range inputs {
		for j := range s {
			ids[i*s+j] = int32(max(m.Gen.Pad, 0))
		}
		copy(ids[i*s:], in)
	}
	var flatDec []int32
	for _, d := range dec {
		if len(d) != t {
			return nil, nil, fmt.Errorf("decoder inputs differ in length")
		}
		flatDec = append(flatDec, d...)
	}
	st := m.NewState(lens, s, 1, t)
	defer st.Close()
	b := m.Backend()
	ctx := b.NewContext()
	e := m.Encode(ctx, ids, lens, s)
	m.CrossKV(ctx, st, e)
	e = e.Duplicate(ctx)
	ctx.Forward(e).Compute(e)
	enc = e.Floats()
	ctx.Close()

	ctx = b.NewContext()
	defer ctx.Close()
	l := m.Step(ctx, st, flatDec, t)
	ctx.Forward(l).Compute(l)
	return l.Floats(), enc, nil
}

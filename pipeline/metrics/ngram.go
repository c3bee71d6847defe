package metrics

import "sync"

// maxOrder bounds the n-gram order so that an n-gram key is a fixed-size
// array: hashing 32 bytes beats building a string per n-gram.
const maxOrder = 8

// ngramKey holds the token ids (each ≥ 1) of an n-gram, zero-padded; the
// order is the number of leading non-zero ids.
type ngramKey [maxOrder]uint32

func (k *ngramKey) order() int {
	n := 0
	for n < maxOrder && k[n] != 0 {
		n++
	}
	return n
}

// ngramCounter counts clipped n-gram matches. It interns tokens to ids and
// reuses its maps across segments; it is not safe for concurrent use.
type ngramCounter struct {
	vocab  map[string]uint32
	ids    []uint32
	hyp    map[ngramKey]int
	one    map[ngramKey]int
	refMax map[ngramKey]int
}

// counters recycles ngramCounters: sentence BLEU over many lines would
// otherwise build and grow four maps per line.
var counters = sync.Pool{New: func() any {
	return &ngramCounter{
		vocab: map[string]uint32{}, hyp: map[ngramKey]int{},
		one: map[ngramKey]int{}, refMax: map[ngramKey]int{},
	}
}}

// getCounter takes a counter from the pool; give it back with putCounter.
// Ids only need to be consistent within one use, so the vocabulary is kept
// between uses and dropped only when it grows large.
func getCounter() *ngramCounter { return counters.Get().(*ngramCounter) }

func putCounter(c *ngramCounter) {
	if len(c.vocab) > 1<<20 {
		c.vocab = map[string]uint32{}
	}
	counters.Put(c)
}

// count sets into to the counts of toks' n-grams of orders 1..order.
func (c *ngramCounter) count(toks []string, order int, into map[ngramKey]int) {
	clear(into)
	c.ids = c.ids[:0]
	for _, t := range toks {
		id, ok := c.vocab[t]
		if !ok {
			id = uint32(len(c.vocab) + 1)
			c.vocab[t] = id
		}
		c.ids = append(c.ids, id)
	}
	for n := 1; n <= order; n++ {
		for i := 0; i+n <= len(c.ids); i++ {
			var k ngramKey
			copy(k[:n], c.ids[i:i+n])
			into[k]++
		}
	}
}

// match adds, per order, the hypothesis n-grams to total and their counts
// clipped by the highest count in any one reference to correct — the
// modified precision shared by sacrebleu and NLTK.
func (c *ngramCounter) match(hyp []string, refs [][]string, correct, total []int) {
	order := len(correct)
	clear(c.refMax)
	for _, r := range refs {
		c.count(r, order, c.one)
		for g, n := range c.one {
			if n > c.refMax[g] {
				c.refMax[g] = n
			}
		}
	}
	c.count(hyp, order, c.hyp)
	for g, n := range c.hyp {
		o := g.order() - 1
		total[o] += n
		correct[o] += min(n, c.refMax[g])
	}
}

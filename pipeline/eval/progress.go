package eval

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Progress reports a sweep's advance on a writer (stderr): on a terminal one
// bar redrawn in place, otherwise a plain line every 10% of the rows or 30 s,
// and at the end. The ETA is the mean time per row computed in this run
// (rows skipped on resume do not count) times the rows left.
type Progress struct {
	W        io.Writer
	Terminal bool
	// Now is the clock (tests set it); nil means time.Now.
	Now func() time.Time

	total, done, computed int
	start, last           time.Time
	lastDecile            int
	drawn                 bool
}

func (p *Progress) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// begin starts the count: total rows of this sweep (or shard), done of them
// already present.
func (p *Progress) begin(what string, total, done int) {
	if p == nil || p.W == nil {
		return
	}
	p.total, p.done, p.start, p.last = total, done, p.now(), p.now()
	p.lastDecile = p.decile()
	if done > 0 {
		fmt.Fprintf(p.W, "%s: %d rows, %d already done (resuming)\n", what, total, done)
	} else {
		fmt.Fprintf(p.W, "%s: %d rows\n", what, total)
	}
	p.draw(true)
}

func (p *Progress) decile() int {
	if p.total == 0 {
		return 10
	}
	return p.done * 10 / p.total
}

// row counts one row written (computed: by the runner in this run).
func (p *Progress) row() {
	if p == nil || p.W == nil {
		return
	}
	p.done++
	p.computed++
	d := p.decile()
	if p.Terminal || d > p.lastDecile || p.now().Sub(p.last) >= 30*time.Second || p.done == p.total {
		p.lastDecile = d
		p.draw(false)
	}
}

// note prints a line (an error row, say) without breaking the bar.
func (p *Progress) note(format string, a ...any) {
	if p == nil || p.W == nil {
		return
	}
	if p.Terminal && p.drawn {
		fmt.Fprint(p.W, "\r\033[K")
	}
	fmt.Fprintf(p.W, format+"\n", a...)
	if p.Terminal {
		p.draw(true)
	}
}

// end finishes the bar's line.
func (p *Progress) end() {
	if p == nil || p.W == nil {
		return
	}
	if p.Terminal && p.drawn {
		fmt.Fprintln(p.W)
		p.drawn = false
	}
}

func (p *Progress) line() string {
	pct := 100
	if p.total > 0 {
		pct = p.done * 100 / p.total
	}
	bar := strings.Repeat("#", pct/5) + strings.Repeat("-", 20-pct/5)
	s := fmt.Sprintf("  rows [%s] %3d%% %d/%d", bar, pct, p.done, p.total)
	if p.computed > 0 {
		el := p.now().Sub(p.start)
		per := el / time.Duration(p.computed)
		eta := per * time.Duration(p.total-p.done)
		s += fmt.Sprintf("  %s/row  elapsed %s  ETA %s", roundDur(per), roundDur(el), roundDur(eta))
	}
	return s
}

func (p *Progress) draw(force bool) {
	p.last = p.now()
	if p.Terminal {
		fmt.Fprintf(p.W, "\r\033[K%s", p.line())
		p.drawn = true
		return
	}
	if !force {
		fmt.Fprintln(p.W, p.line())
	}
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

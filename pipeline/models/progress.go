package models

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress prints one line per file at start, every 10% or 2 s, and at the
// end, each with the overall count of files and bytes.
type progress struct {
	mu        sync.Mutex
	w         io.Writer
	files     int // files to obtain in this pull
	filesDone int
	bytes     int64 // bytes received in this pull
}

func (p *progress) printf(format string, a ...any) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, a...)
}

func (p *progress) note(format string, a ...any) { p.printf(format+"\n", a...) }

func (p *progress) overall() string {
	return fmt.Sprintf("overall %d/%d files, %s received", p.filesDone, p.files, mib(p.bytes))
}

func (p *progress) skip(name string) {
	p.mu.Lock()
	p.filesDone++
	p.mu.Unlock()
	p.printf("  %s: already here and verified (%s)\n", name, p.overall())
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// fileProgress counts one file's bytes.
type fileProgress struct {
	p           *progress
	name        string
	have, total int64
	lastPct     int64
	lastTime    time.Time
}

func (p *progress) start(name string, have, total int64) *fileProgress {
	fp := &fileProgress{p: p, name: name, have: have, total: total, lastTime: time.Now()}
	if have > 0 {
		p.note("  %s: resuming at %s", name, mib(have))
	}
	fp.line()
	return fp
}

func (fp *fileProgress) line() {
	p := fp.p
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	over := p.overall()
	p.mu.Unlock()
	if fp.total > 0 {
		pct := fp.have * 100 / fp.total
		bar := strings.Repeat("#", int(pct/5)) + strings.Repeat("-", 20-int(pct/5))
		p.printf("  %s [%s] %3d%% %s / %s  %s\n", fp.name, bar, pct, mib(fp.have), mib(fp.total), over)
	} else {
		p.printf("  %s: %s  %s\n", fp.name, mib(fp.have), over)
	}
}

func (fp *fileProgress) Write(b []byte) (int, error) {
	fp.have += int64(len(b))
	if fp.p == nil {
		return len(b), nil
	}
	fp.p.mu.Lock()
	fp.p.bytes += int64(len(b))
	fp.p.mu.Unlock()
	pct := int64(0)
	if fp.total > 0 {
		pct = fp.have * 10 / fp.total
	}
	if pct > fp.lastPct || time.Since(fp.lastTime) > 2*time.Second {
		fp.lastPct, fp.lastTime = pct, time.Now()
		if pct < 10 {
			fp.line()
		}
	}
	return len(b), nil
}

func (fp *fileProgress) finish(ok bool) {
	if ok && fp.p != nil {
		fp.p.mu.Lock()
		fp.p.filesDone++
		fp.p.mu.Unlock()
		fp.line()
	}
}

package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/multisc/multisc/bindings/badinput"
)

// partMeta is written beside a .part file: which URL and version the bytes
// so far belong to, so a resume never glues two versions together.
type partMeta struct {
	URL    string `json:"url"`
	ETag   string `json:"etag,omitempty"`   // for If-Range
	Linked string `json:"linked,omitempty"` // X-Linked-Etag: the hub's sha256 of an LFS file
	// LinkedSize is X-Linked-Size, the hub's size of an LFS file (0: none).
	LinkedSize int64  `json:"linked_size,omitempty"`
	SHA256     string `json:"sha256,omitempty"` // expected, when known
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// errNoSpace marks the disk budget (or the disk) running out.
var errNoSpace = errors.New("no space left")

// fetcher downloads files with resume, retries and checksums.
type fetcher struct {
	o        *PullOptions
	client   *http.Client
	budget   atomic.Int64 // bytes left that may be written; <0: unlimited
	progress *progress
}

// budgetWriter appends to a file while the disk budget lasts.
type budgetWriter struct {
	f *fetcher
	w io.Writer
}

func (b budgetWriter) Write(p []byte) (int, error) {
	if b.f.o.MaxBytes > 0 {
		if b.f.budget.Add(-int64(len(p))) < 0 {
			return 0, errNoSpace
		}
	}
	n, err := b.w.Write(p)
	if errors.Is(err, syscall.ENOSPC) {
		err = errNoSpace
	}
	return n, err
}

// idleReader cancels a request when no byte arrives for the idle timeout.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	idle  time.Duration
}

func (r idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.timer.Reset(r.idle)
	}
	return n, err
}

func removePart(part string) {
	os.Remove(part)
	os.Remove(part + ".json")
}

// fetch downloads src to dst (resuming dst.part), verifies it and renames
// it into place. An existing dst that verifies is kept.
func (f *fetcher) fetch(ctx context.Context, role Role, src Source, dst string) error {
	url := src.URL(f.o.Endpoints)
	if _, err := os.Stat(dst); err == nil {
		if err := verifySource(src, dst, ""); err == nil {
			f.progress.skip(dst)
			return nil
		}
		os.Remove(dst)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return badinput.Errorf("--out: cannot create %s: %v", filepath.Dir(dst), err)
	}
	part := dst + ".part"
	var meta partMeta
	if b, err := os.ReadFile(part + ".json"); err == nil {
		if json.Unmarshal(b, &meta) != nil || meta.URL != url || (meta.SHA256 != "" && src.SHA256 != "" && meta.SHA256 != src.SHA256) {
			f.progress.note("%s: discarding a partial download of another version", part)
			removePart(part)
			meta = partMeta{}
		}
	}
	meta.URL, meta.SHA256 = url, src.SHA256
	var lastErr error
	for attempt := 0; attempt <= f.o.Retries; attempt++ {
		if attempt > 0 {
			f.progress.note("%s: %v; retrying (%d/%d)", filepath.Base(dst), lastErr, attempt, f.o.Retries)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * f.o.RetryWait):
			}
		}
		done, retry, err := f.get(ctx, role, url, part, &meta)
		if err == nil && done {
			lastErr = nil
			break
		}
		lastErr = err
		if !retry {
			return err
		}
	}
	if lastErr != nil {
		return badinput.Errorf("role %s: downloading %s: %v (gave up after %d retries; run pull again to resume)", role, url, lastErr, f.o.Retries)
	}
	if src.Size == 0 && meta.LinkedSize > 0 {
		src.Size = meta.LinkedSize
	}
	if err := verifySource(src, part, meta.Linked); err != nil {
		removePart(part)
		return badinput.Errorf("role %s: %s: %v; the download was deleted", role, url, err)
	}
	if err := os.Rename(part, dst); err != nil {
		return err
	}
	os.Remove(part + ".json")
	return nil
}

// get makes one request, appending to part from its current size. done
// reports a complete file; retry whether a failure is worth another try.
func (f *fetcher) get(ctx context.Context, role Role, url, part string, meta *partMeta) (done, retry bool, err error) {
	var off int64
	if st, err := os.Stat(part); err == nil {
		off = st.Size()
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, false, badinput.Errorf("role %s: bad URL %s: %v", role, url, err)
	}
	if f.o.Token != "" && strings.HasPrefix(url, f.endpoint(HuggingFace)) {
		req.Header.Set("Authorization", "Bearer "+f.o.Token)
	}
	if off > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
		if meta.ETag != "" {
			req.Header.Set("If-Range", meta.ETag)
		}
	}
	timer := time.AfterFunc(f.o.IdleTimeout, func() {
		cancel(fmt.Errorf("no data for %v (timeout)", f.o.IdleTimeout))
	})
	defer timer.Stop()
	// The hub answers a resolve URL of an LFS file with a redirect to its
	// CDN; the sha256 (X-Linked-Etag) is on the redirect, so keep it.
	client := *f.client
	linked, linkedSize := "", ""
	client.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if r.Response != nil {
			if v := r.Response.Header.Get("X-Linked-Etag"); v != "" {
				linked = v
			}
			if v := r.Response.Header.Get("X-Linked-Size"); v != "" {
				linkedSize = v
			}
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	resp, err := client.Do(req)
	if err != nil {
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			err = c
		}
		return false, true, err
	}
	defer resp.Body.Close()
	flag := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	switch {
	case resp.StatusCode == http.StatusPartialContent && off > 0:
		var start int64 = -1
		fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-", &start)
		if start != off {
			return false, false, badinput.Errorf("role %s: %s: server resumed at byte %d, asked for %d", role, url, start, off)
		}
	case resp.StatusCode == http.StatusOK:
		if off > 0 {
			f.progress.note("%s: the server sent the whole file (no resume, or a new version); starting over", filepath.Base(part))
		}
		flag = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		off = 0
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && off > 0:
		return true, false, nil // the part file is already whole; the checksum decides
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return false, false, badinput.Errorf("role %s: %s: HTTP %s: the server wants a token or licence acceptance; accept the model's terms on its page, create a read token at https://huggingface.co/settings/tokens and set HF_TOKEN=<token>", role, url, resp.Status)
	case resp.StatusCode >= 500:
		return false, true, fmt.Errorf("HTTP %s", resp.Status)
	default:
		return false, false, badinput.Errorf("role %s: %s: HTTP %s", role, url, resp.Status)
	}
	meta.ETag, meta.Linked = resp.Header.Get("ETag"), resp.Header.Get("X-Linked-Etag")
	if linked != "" {
		meta.Linked = linked
	}
	if linkedSize == "" {
		linkedSize = resp.Header.Get("X-Linked-Size")
	}
	meta.LinkedSize, _ = strconv.ParseInt(linkedSize, 10, 64)
	mb, _ := json.Marshal(meta)
	if err := os.WriteFile(part+".json", mb, 0o644); err != nil {
		return false, false, badinput.Errorf("--out: %v", err)
	}
	out, err := os.OpenFile(part, flag, 0o644)
	if err != nil {
		return false, false, badinput.Errorf("--out: %v", err)
	}
	total := int64(-1)
	if resp.ContentLength >= 0 {
		total = off + resp.ContentLength
	}
	pw := f.progress.start(filepath.Base(part[:len(part)-len(".part")]), off, total)
	_, err = io.Copy(budgetWriter{f, io.MultiWriter(out, pw)}, idleReader{resp.Body, timer, f.o.IdleTimeout})
	pw.finish(err == nil)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, errNoSpace) {
			removePart(part)
			return false, false, badinput.Errorf("role %s: no space left for %s under --out (the partial file was deleted; free space, then pull again)", role, filepath.Base(part[:len(part)-len(".part")]))
		}
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			err = c
		}
		return false, true, fmt.Errorf("connection lost: %v", err)
	}
	return true, false, nil
}

func (f *fetcher) endpoint(h Host) string {
	if e := f.o.Endpoints[h]; e != "" {
		return e
	}
	return DefaultEndpoints[h]
}

// verifySource checks a downloaded file against what is known of it: the
// catalogue's sha256 and size, else the server's X-Linked-Etag when it is a
// sha256, else torchvision's hash prefix. Nothing known: nothing to check.
func verifySource(src Source, path, etag string) error {
	sum, n, err := fileSHA256(path)
	if err != nil {
		return err
	}
	if src.Size > 0 && n != src.Size {
		return fmt.Errorf("size %d bytes, want %d (catalogue or X-Linked-Size)", n, src.Size)
	}
	etag = strings.Trim(strings.TrimPrefix(etag, "W/"), `"`)
	switch {
	case src.SHA256 != "":
		if sum != strings.ToLower(src.SHA256) {
			return fmt.Errorf("sha256 mismatch: got %s, the catalogue says %s", sum, src.SHA256)
		}
	case hex64.MatchString(etag):
		if sum != etag {
			return fmt.Errorf("sha256 mismatch: got %s, the server says %s", sum, etag)
		}
	case src.HashPrefix != "":
		if !strings.HasPrefix(sum, src.HashPrefix) {
			return fmt.Errorf("sha256 mismatch: got %s, the file name says %s…", sum, src.HashPrefix)
		}
	}
	return nil
}

// sha256Hex is the sha256 of b (tests and callers building catalogues).
func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

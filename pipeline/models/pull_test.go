package models

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/bindings/checkpoint"
)

// fixtures maps each catalogue file (its Local path) to a tiny checkpoint
// in the real source layout: the converters' own parity fixtures under
// models/*/testdata (torchvision zip-pickle .pth, safetensors, HF folders
// with config.json and tokenizer files).
var fixtures = map[string]string{
	"segmenter/fcn_resnet50_coco-1167a1af.pth":  "fcn/testdata/fcn_tiny.pth",
	"detector/model.safetensors":                "detr/testdata/detr_tiny_hf.safetensors",
	"detector/config.json":                      "detr/testdata/config.json",
	"captioner/llava/config.json":               "llava/testdata/llava/config.json",
	"captioner/llava/model.safetensors":         nanoLLaVA,
	"captioner/llava/tokenizer.json":            "llava/testdata/llava/tokenizer.json",
	"captioner/llava/tokenizer_config.json":     "llava/testdata/llava/tokenizer_config.json",
	"captioner/tower/config.json":               "llava/testdata/tower/config.json",
	"corrector/config.json":                     "bart/testdata/bart_tiny/config.json",
	"corrector/pytorch_model.bin":               "bart/testdata/bart_tiny/pytorch_model.bin",
	"corrector/vocab.json":                      "bart/testdata/bart_tiny/vocab.json",
	"corrector/merges.txt":                      "bart/testdata/bart_tiny/merges.txt",
	"generator/v1-5-pruned-emaonly.safetensors": "sd/testdata/sd_tiny.safetensors",
	"generator/vocab.json":                      "sd/testdata/vocab.json",
	"generator/merges.txt":                      "sd/testdata/merges.txt",
	"ip-adapter/ip-adapter_sd15.safetensors":    "ipadapter/testdata/ip_tiny.safetensors",
	"lpips/alexnet-owt-7be5be79.pth":            "lpips/testdata/alexnet_tiny.pth",
	"lpips/alex.pth":                            "lpips/testdata/alex_tiny.pth",
	"image-encoder/config.json":                 "clip/testdata/cliph_tower/config.json",
	"image-encoder/model.safetensors":           imageEncoderST,
	"embedder/config.json":                      "clip/testdata/clipl_model/config.json",
	"embedder/model.safetensors":                embedderST,
}

// The clip roles' fixtures in their publishers' layouts, from models/clip's
// parity fixtures: imageEncoderST is the ViT-H-style tower
// (CLIPVisionModelWithProjection: vision_model.*, visual_projection) as
// model.safetensors, h94/IP-Adapter models/image_encoder's layout;
// embedderST is the reduced whole CLIPModel of make_embedder_fixture.py
// (text tower, both projections, logit_scale, nested config.json) as
// model.safetensors, openai/clip-vit-large-patch14's layout.
const (
	imageEncoderST = "<image-encoder safetensors>"
	embedderST     = "<embedder safetensors>"
)

// embedderProj is the embedder fixture's projection width.
const embedderProj = 16

// clipFixture builds the clip roles' safetensors fixtures.
func clipFixture(t *testing.T, fx string) []byte {
	t.Helper()
	src := map[string]string{imageEncoderST: "cliph_tower", embedderST: "clipl_model"}[fx]
	if src == "" {
		t.Fatalf("no fixture %s", fx)
	}
	sd, err := checkpoint.Load("../../models/clip/testdata/" + src + "/pytorch_model.bin")
	if err != nil {
		t.Fatal(err)
	}
	return safetensorsF32(sd)
}

// nanoLLaVA names the fixture built in nanoLLaVA's layout: one
// safetensors file with the LM, the projector and the vision tower
// (model.vision_tower.vision_tower.*), from the llava fixture's checkpoint
// and its tower's.
const nanoLLaVA = "<nanollava>"

// fixture returns a fixture file's bytes.
func fixture(t *testing.T, fx string) []byte {
	t.Helper()
	if strings.HasPrefix(fx, "<") && fx != nanoLLaVA {
		return clipFixture(t, fx)
	}
	if fx != nanoLLaVA {
		b, err := os.ReadFile(filepath.Join("..", "..", "models", fx))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sd, err := checkpoint.Load("../../models/llava/testdata/llava/model.bin")
	if err != nil {
		t.Fatal(err)
	}
	tower, err := checkpoint.Load("../../models/llava/testdata/tower/pytorch_model.bin")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range tower {
		sd["model.vision_tower.vision_tower."+k] = v
	}
	return safetensorsF32(sd)
}

// safetensorsF32 writes a state dict as a safetensors file (F32, keys in
// order).
func safetensorsF32(sd checkpoint.StateDict) []byte {
	header := map[string]any{}
	var data []byte
	for _, k := range sd.Keys() {
		t := sd[k]
		start := len(data)
		for _, v := range t.Data {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
		}
		header[k] = map[string]any{"dtype": "F32", "shape": t.Shape, "data_offsets": []int{start, len(data)}}
	}
	hb, _ := json.Marshal(header)
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(hb)))
	return append(append(out, hb...), data...)
}

// hub is a loopback server holding the fixtures under the catalogue's URL
// paths, with hooks to misbehave.
type hub struct {
	*httptest.Server
	files map[string][]byte // URL path -> bytes
	mu    sync.Mutex
	// per URL path: a status to answer, bytes after which to drop the
	// connection (once per entry), a stall
	status map[string]int
	dropAt map[string]int
	stall  map[string]time.Duration
	ranges []string // Range headers seen, "path bytes=N-"
	hits   int
}

// testCatalogue is the catalogue with each file's sha256 set to its
// fixture's (the public files' hashes cannot match tiny fixtures).
func newHub(t *testing.T) (*hub, []Entry) {
	t.Helper()
	h := &hub{files: map[string][]byte{}, status: map[string]int{}, dropAt: map[string]int{}, stall: map[string]time.Duration{}}
	var cat []Entry
	for _, e := range Catalogue {
		e.Files = append([]Source(nil), e.Files...)
		for i, src := range e.Files {
			fx, ok := fixtures[src.Local]
			if !ok {
				continue // roles not yet convertible
			}
			b := fixture(t, fx)
			h.files["/"+src.Path] = b
			e.Files[i].SHA256 = sha256Hex(b)
			e.Files[i].Size = 0 // the published size is the real file's
			e.Files[i].HashPrefix = ""
		}
		cat = append(cat, e)
	}
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.Close)
	return h, cat
}

func (h *hub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.hits++
	p := r.URL.Path
	if rg := r.Header.Get("Range"); rg != "" {
		h.ranges = append(h.ranges, p+" "+rg)
	}
	status, drop, stall := h.status[p], h.dropAt[p], h.stall[p]
	delete(h.dropAt, p)
	b, ok := h.files[p]
	h.mu.Unlock()
	if stall > 0 {
		select {
		case <-time.After(stall):
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	if drop > 0 && r.Header.Get("Range") == "" {
		// announce the whole file, send part of it, cut the connection
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nETag: \"v1\"\r\n\r\n", len(b))
		buf.Write(b[:drop])
		buf.Flush()
		conn.Close()
		return
	}
	w.Header().Set("ETag", `"v1"`)
	http.ServeContent(w, r, filepath.Base(p), time.Time{}, bytes.NewReader(b))
}

func (h *hub) opts(t *testing.T, cat []Entry) PullOptions {
	return PullOptions{
		Out: t.TempDir(), Type: "f32", Catalogue: cat,
		Endpoints:   map[Host]string{HuggingFace: h.URL, PyTorch: h.URL, GitHub: h.URL},
		IdleTimeout: 5 * time.Second, Retries: 2, RetryWait: time.Millisecond,
	}
}

func srcOf(t *testing.T, cat []Entry, local string) Source {
	for _, e := range cat {
		for _, s := range e.Files {
			if s.Local == local {
				return s
			}
		}
	}
	t.Fatalf("no catalogue file %s", local)
	return Source{}
}

// noManifest asserts that a failed pull left no manifest.
func noManifest(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, ManifestName)); err == nil {
		t.Errorf("%s was written by a failed pull", ManifestName)
	}
}

// TestPullAll: every convertible role from the loopback hub, converted by
// the registered converters; the set checks and verifies, and its files
// equal those converted straight from the fixtures (--from-dir, no server).
func TestPullAll(t *testing.T) {
	h, cat := newHub(t)
	o := h.opts(t, cat)
	var log bytes.Buffer
	o.Progress = &log
	m, err := Pull(context.Background(), nil, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if len(m.Roles) != len(Roles) || m.Roles[IPAdapter].Files == nil {
		t.Errorf("roles %v, want all %d (ip-adapter among them)", m.SortedRoles(), len(Roles))
	}
	for _, want := range []string{"CreativeML OpenRAIL-M", "ip-adapter: converted ip-adapter.gguf (ipadapter",
		"image-encoder: converted image-encoder.gguf (clip", "embedder: converted embedder.gguf (clip", "overall 22/22 files"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, log.String())
		}
	}
	fs, err := Check(o.Out, CheckOptions{})
	if err != nil {
		t.Error(err)
	}
	var ipWidth, encWidth bool
	for _, f := range fs {
		if strings.HasPrefix(f.Check, "UNet cross-attention width") {
			ipWidth = f.Status == "ok"
		}
		if strings.HasPrefix(f.Check, "image encoder embedding") {
			encWidth = f.Status == "ok"
		}
	}
	if !ipWidth || !encWidth {
		t.Errorf("the pulled UNet, IP-Adapter and image encoder widths are not checked ok: %v", fs)
	}
	// the clip roles are image encoders with their publishers' shapes
	for _, c := range []struct {
		r    Role
		proj uint32
	}{{ImageEncoder, 24}, {Embedder, embedderProj}} {
		meta, err := bindings.Header(filepath.Join(o.Out, string(c.r)+".gguf"))
		if err != nil {
			t.Fatal(err)
		}
		kv := meta.KV()
		if kv.String("projector_type") != "none" || kv.Uint("vision.projection_dim") != c.proj {
			t.Errorf("role %s: projector_type %q projection_dim %d, want none %d", c.r, kv.String("projector_type"), kv.Uint("vision.projection_dim"), c.proj)
		}
	}
	if _, err := Verify(o.Out); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(o.Out, DownloadDir)); err == nil {
		t.Errorf("%s left behind after conversion", DownloadDir)
	}

	// --from-dir with the fixtures laid out flat (by base name) and in
	// folders, and the server closed: same GGUF bytes.
	from := t.TempDir()
	for local, fx := range fixtures {
		b := fixture(t, fx)
		dst := filepath.Join(from, filepath.FromSlash(local))
		if !strings.HasPrefix(local, "captioner/") && !strings.HasPrefix(local, "corrector/") &&
			!strings.HasPrefix(local, "image-encoder/") && !strings.HasPrefix(local, "embedder/") {
			dst = filepath.Join(from, filepath.Base(local)) // flat where names are unique
		}
		os.MkdirAll(filepath.Dir(dst), 0o755)
		os.WriteFile(dst, b, 0o644)
	}
	h.Close()
	o2 := h.opts(t, cat)
	o2.FromDir = from
	m2, err := Pull(context.Background(), nil, o2)
	if err != nil {
		t.Fatal(err)
	}
	for r, rf := range m.Roles {
		for i, f := range rf.Files {
			if m2.Roles[r].Files[i].SHA256 != f.SHA256 {
				t.Errorf("role %s %s: --from-dir gave other bytes than the download", r, f.Path)
			}
		}
	}
	// the from-dir files are left alone; our links to them are not kept
	if _, err := os.Stat(filepath.Join(from, "alex.pth")); err != nil {
		t.Error("--from-dir input removed")
	}
	if _, err := os.Stat(filepath.Join(o2.Out, DownloadDir)); err == nil {
		t.Errorf("%s left behind after a --from-dir pull", DownloadDir)
	}
}

// TestPullResume: a connection dropped mid-file is resumed with a Range
// request and the file is byte-identical; a pull that gives up leaves the
// partial file, and the next pull continues from it.
func TestPullResume(t *testing.T) {
	const local = "lpips/alexnet-owt-7be5be79.pth"
	h, cat := newHub(t)
	src := srcOf(t, cat, local)
	want := h.files["/"+src.Path]

	// dropped once, resumed within the same pull
	h.dropAt["/"+src.Path] = len(want) / 3
	o := h.opts(t, cat)
	o.KeepCheckpoints = true
	if _, err := Pull(context.Background(), []Role{LPIPS}, o); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(o.Out, DownloadDir, local))
	if !bytes.Equal(got, want) {
		t.Fatal("resumed download differs from the served file")
	}
	wantRange := fmt.Sprintf("/%s bytes=%d-", src.Path, len(want)/3)
	if len(h.ranges) != 1 || h.ranges[0] != wantRange {
		t.Errorf("range requests %q, want [%q]", h.ranges, wantRange)
	}

	// killed: no retries, the pull fails and keeps the partial file
	h.ranges = nil
	h.dropAt["/"+src.Path] = len(want) / 2
	o2 := h.opts(t, cat)
	o2.Retries = 0
	_, err := Pull(context.Background(), []Role{LPIPS}, o2)
	if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), "run pull again to resume") {
		t.Fatalf("dropped without retries: %v", err)
	}
	noManifest(t, o2.Out)
	part := filepath.Join(o2.Out, DownloadDir, local+".part")
	if st, err := os.Stat(part); err != nil || st.Size() != int64(len(want)/2) {
		t.Fatalf("partial file: %v", err)
	}
	o2.KeepCheckpoints = true
	if _, err := Pull(context.Background(), []Role{LPIPS}, o2); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(filepath.Join(o2.Out, DownloadDir, local))
	if !bytes.Equal(got, want) {
		t.Fatal("download resumed by a second pull differs from the served file")
	}
	if want := fmt.Sprintf("/%s bytes=%d-", src.Path, len(want)/2); len(h.ranges) != 1 || h.ranges[0] != want {
		t.Errorf("range requests %q, want [%q]", h.ranges, want)
	}
	if _, err := os.Stat(part); err == nil {
		t.Error("the .part file is left after success")
	}
}

// TestPullPartialOtherVersion: a partial file whose sidecar names another
// URL is discarded; a partial file with no sidecar and foreign bytes fails
// the checksum, is deleted, and nothing is written.
func TestPullPartialOtherVersion(t *testing.T) {
	const local = "lpips/alex.pth"
	h, cat := newHub(t)
	src := srcOf(t, cat, local)
	o := h.opts(t, cat)
	part := filepath.Join(o.Out, DownloadDir, local+".part")
	os.MkdirAll(filepath.Dir(part), 0o755)
	os.WriteFile(part, []byte("old version bytes"), 0o644)
	os.WriteFile(part+".json", []byte(`{"url": "https://example.invalid/v0.0/alex.pth"}`), 0o644)
	if _, err := Pull(context.Background(), []Role{LPIPS}, o); err != nil {
		t.Fatalf("stale sidecar: %v", err)
	}

	o2 := h.opts(t, cat)
	part = filepath.Join(o2.Out, DownloadDir, local+".part")
	os.MkdirAll(filepath.Dir(part), 0o755)
	os.WriteFile(part, []byte("old version bytes"), 0o644)
	_, err := Pull(context.Background(), []Role{LPIPS}, o2)
	if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), "sha256 mismatch") || !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("foreign partial file: %v", err)
	}
	if _, err := os.Stat(part); err == nil {
		t.Error("the bad download was not deleted")
	}
	noManifest(t, o2.Out)

	// If-Range: a partial file of ETag "v0" gets the whole file again
	o3 := h.opts(t, cat)
	part = filepath.Join(o3.Out, DownloadDir, local+".part")
	os.MkdirAll(filepath.Dir(part), 0o755)
	os.WriteFile(part, []byte("old version bytes"), 0o644)
	os.WriteFile(part+".json", []byte(`{"url": "`+src.URL(o3.Endpoints)+`", "etag": "\"v0\""}`), 0o644)
	if _, err := Pull(context.Background(), []Role{LPIPS}, o3); err != nil {
		t.Fatalf("If-Range restart: %v", err)
	}
}

// TestPullFailures: each failure is one bad-input line naming the role and
// URL, and no manifest is written.
func TestPullFailures(t *testing.T) {
	const local = "lpips/alex.pth"
	cases := []struct {
		name  string
		setup func(h *hub, o *PullOptions, path string)
		want  []string
	}{
		{"404", func(h *hub, o *PullOptions, p string) { h.status[p] = 404 }, []string{"404", "role lpips", "alex.pth"}},
		{"500", func(h *hub, o *PullOptions, p string) { h.status[p] = 500 }, []string{"500", "gave up after 2 retries"}},
		{"401", func(h *hub, o *PullOptions, p string) { h.status[p] = 401 }, []string{"401", "HF_TOKEN"}},
		{"403", func(h *hub, o *PullOptions, p string) { h.status[p] = 403 }, []string{"403", "HF_TOKEN"}},
		{"timeout", func(h *hub, o *PullOptions, p string) {
			h.stall[p] = 10 * time.Second
			o.IdleTimeout = 100 * time.Millisecond
			o.Retries = 0
		}, []string{"timeout", "alex.pth"}},
		{"wrong checksum", func(h *hub, o *PullOptions, p string) {
			h.files[p] = append([]byte("x"), h.files[p]...)
		}, []string{"sha256 mismatch", "deleted"}},
		{"no space", func(h *hub, o *PullOptions, p string) { o.MaxBytes = 50_000 }, []string{"no space left"}},
		{"from-dir missing file", func(h *hub, o *PullOptions, p string) { o.FromDir = t.TempDir() }, []string{"--from-dir", "alexnet-owt-7be5be79.pth"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, cat := newHub(t)
			o := h.opts(t, cat)
			c.setup(h, &o, "/"+srcOf(t, cat, local).Path)
			_, err := Pull(context.Background(), []Role{LPIPS}, o)
			if err == nil || !badinput.Is(err) {
				t.Fatalf("err = %v, want a bad-input error", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("more than one line: %q", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			noManifest(t, o.Out)
			// nothing half-downloaded is kept for a refused file
			if c.name != "timeout" {
				filepath.WalkDir(o.Out, func(p string, d os.DirEntry, err error) error {
					if strings.HasSuffix(p, "alex.pth") || strings.HasSuffix(p, "alex.pth.part") && c.name != "500" {
						t.Errorf("left %s", p)
					}
					return nil
				})
			}
		})
	}
}

// TestPullToken: HF_TOKEN goes to the Hugging Face endpoint only.
func TestPullToken(t *testing.T) {
	var hfAuth, otherAuth []string
	var mu sync.Mutex
	h, cat := newHub(t)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		otherAuth = append(otherAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		h.serve(w, r)
	}))
	defer other.Close()
	hfSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hfAuth = append(hfAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		h.serve(w, r)
	}))
	defer hfSrv.Close()
	o := h.opts(t, cat)
	o.Endpoints = map[Host]string{HuggingFace: hfSrv.URL, PyTorch: other.URL, GitHub: other.URL}
	o.Token = "hf_test"
	if _, err := Pull(context.Background(), []Role{Detector, LPIPS}, o); err != nil {
		t.Fatal(err)
	}
	if len(hfAuth) != 2 || hfAuth[0] != "Bearer hf_test" || len(otherAuth) != 2 || otherAuth[0] != "" {
		t.Errorf("Authorization sent to the hub %q, to others %q", hfAuth, otherAuth)
	}
}

// TestPullLinkedEtag: a file with no catalogue hash is checked against the
// hub's X-Linked-Etag, which the hub sends on its redirect to the CDN.
func TestPullLinkedEtag(t *testing.T) {
	for _, c := range []struct {
		name     string
		good     bool
		sizeDiff int
	}{{"matching", true, 0}, {"wrong", false, 0}, {"wrong size", false, 1}} {
		t.Run(c.name, func(t *testing.T) {
			h, cat := newHub(t)
			for i := range cat {
				if cat[i].Role == Detector {
					cat[i].Files = append([]Source(nil), cat[i].Files...)
					cat[i].Files[0].SHA256 = "" // model.safetensors
				}
			}
			src := srcOf(t, cat, "detector/model.safetensors")
			sum := sha256Hex(h.files["/"+src.Path])
			if !c.good && c.sizeDiff == 0 {
				sum = sha256Hex([]byte("another file"))
			}
			cdn := "/cdn/" + src.Path
			h.files[cdn] = h.files["/"+src.Path]
			redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/"+src.Path {
					w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
					w.Header().Set("X-Linked-Size", fmt.Sprint(len(h.files["/"+src.Path])+c.sizeDiff))
					http.Redirect(w, r, h.URL+cdn, http.StatusFound)
					return
				}
				h.serve(w, r)
			}))
			defer redirect.Close()
			o := h.opts(t, cat)
			o.Endpoints[HuggingFace] = redirect.URL
			_, err := Pull(context.Background(), []Role{Detector}, o)
			if c.good && err != nil {
				t.Fatal(err)
			}
			if !c.good && c.sizeDiff != 0 && (err == nil || !strings.Contains(err.Error(), "X-Linked-Size")) {
				t.Fatalf("wrong X-Linked-Size: %v", err)
			}
			if !c.good && c.sizeDiff == 0 && (err == nil || !strings.Contains(err.Error(), "the server says "+sum)) {
				t.Fatalf("wrong X-Linked-Etag: %v", err)
			}
		})
	}
}

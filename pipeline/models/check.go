package models

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
)

// Finding is one line of a check or verify report.
type Finding struct {
	Role   Role
	Check  string // what was checked
	Status string // "ok", "FAIL" or "skipped"
	Detail string
}

func (f Finding) String() string {
	s := fmt.Sprintf("%-6s %-13s %s", f.Status, f.Role, f.Check)
	if f.Detail != "" {
		s += ": " + f.Detail
	}
	return s
}

// CheckOptions says how deep Check goes.
type CheckOptions struct {
	// Load opens every file on the CPU through bindings.Open (weights
	// loaded, then freed), beyond bindings.Validate's header check.
	Load bool
}

// width reads one side of a cross-role width check from a file's header;
// ok is false when the file does not record it.
type width func(meta *fsggml.GGML) (w int, what string, ok bool)

func kvWidth(key string) width {
	return func(meta *fsggml.GGML) (int, string, bool) {
		kv := meta.KV()
		full := kv.Architecture() + "." + key
		if _, ok := kv[full]; !ok {
			return 0, full, false
		}
		return int(kv.Uint(key)), full, true
	}
}

// tensorWidth is the first dimension (ggml order: the output width of a
// bias, the input width of a weight) of the first of the named tensors
// that the file holds.
func tensorWidth(names ...string) width {
	return func(meta *fsggml.GGML) (int, string, bool) {
		for _, n := range names {
			for _, t := range meta.Tensors().Items() {
				if t.Name == n && len(t.Shape) > 0 {
					return int(t.Shape[0]), n, true
				}
			}
		}
		return 0, strings.Join(names, "/"), false
	}
}

// firstWidth is the first of several ways to read a width that the file
// answers; when none does, what names them all.
func firstWidth(ws ...width) width {
	return func(meta *fsggml.GGML) (int, string, bool) {
		var names []string
		for _, w := range ws {
			n, what, ok := w(meta)
			if ok {
				return n, what, true
			}
			names = append(names, what)
		}
		return 0, strings.Join(names, " or "), false
	}
}

// widthPair is a width that two roles' files must agree on.
type widthPair struct {
	What         string
	A, B         Role
	AFile, BFile int
	AW, BW       width
}

// WidthChecks are the cross-role width checks: the captioner's projector
// output vs its LM's hidden size; the UNet's context width vs the
// IP-Adapter's cross-attention width (ipadapter.cross_dim, the input width
// of its to_k_ip/to_v_ip, which ggml stores as the first dimension of
// ip_adapter.1.to_k_ip.weight), and the image encoder's embedding vs the
// IP-Adapter's image embedding input (ipadapter.image_dim, the input width
// of image_proj.proj.weight). A check whose side is absent or does not
// record the width is reported as skipped.
var widthChecks = []widthPair{
	{"LM hidden size = mmproj projector output", Captioner, Captioner, 0, 1,
		kvWidth("embedding_length"), tensorWidth("mm.2.bias", "mm.0.bias")},
	{"UNet cross-attention width = IP-Adapter cross-attention width", Generator, IPAdapter, 0, 0,
		kvWidth("unet.context_dim"), firstWidth(kvWidth("cross_dim"), tensorWidth("ip_adapter.1.to_k_ip.weight"))},
	{"image encoder embedding = IP-Adapter image embedding input", ImageEncoder, IPAdapter, 0, 0,
		firstWidth(kvWidth("projection_dim"), kvWidth("vision.projection_dim")),
		firstWidth(kvWidth("image_dim"), tensorWidth("image_proj.proj.weight"))},
}

// Check validates a models folder: the manifest parses; every file exists,
// is a GGUF of the architecture the manifest names, holds every tensor its
// architecture declares with the right shape and an allowed type
// (bindings.Validate), and with o.Load opens on the CPU (bindings.Open);
// widths agree across roles (WidthChecks). It does not hash the files (see
// Verify). The error, when any check fails, names the role and file(s).
func Check(dir string, o CheckOptions) ([]Finding, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	var out []Finding
	var firstErr error
	fail := func(f Finding, err error) {
		out = append(out, f)
		if firstErr == nil {
			firstErr = err
		}
	}
	metas := map[Role][]*fsggml.GGML{}
	for _, r := range m.SortedRoles() {
		rf := m.Roles[r]
		ok := true
		for _, f := range rf.Files {
			p := filepath.Join(dir, f.Path)
			meta, err := bindings.Validate(p, f.Arch)
			if err != nil {
				fail(Finding{r, "valid " + f.Arch + " GGUF " + f.Path, "FAIL", err.Error()}, roleErr(r, err))
				ok = false
				break
			}
			if err := checkProjector(r, meta); err != nil {
				fail(Finding{r, "valid " + f.Arch + " GGUF " + f.Path, "FAIL", err.Error()}, badinput.Errorf("%s: role %s: %v", p, r, err))
				ok = false
				break
			}
			metas[r] = append(metas[r], meta)
			if o.Load {
				l, err := bindings.Open(p, bindings.Options{Arch: f.Arch, Device: "cpu"})
				if err != nil {
					fail(Finding{r, "opens " + f.Path, "FAIL", err.Error()}, roleErr(r, err))
					ok = false
					break
				}
				l.Close()
			}
		}
		if ok {
			what := "valid GGUF"
			if o.Load {
				what = "valid GGUF, loads on cpu"
			}
			var names []string
			for _, f := range rf.Files {
				names = append(names, f.Path+" ("+f.Arch+")")
			}
			out = append(out, Finding{r, what, "ok", strings.Join(names, ", ")})
		}
	}
	for _, p := range widthChecks {
		a, b := metas[p.A], metas[p.B]
		if len(a) <= p.AFile || len(b) <= p.BFile {
			missing := p.A
			if len(a) > p.AFile {
				missing = p.B
			}
			out = append(out, Finding{p.A, p.What, "skipped", fmt.Sprintf("role %s absent or invalid", missing)})
			continue
		}
		wa, ka, oka := p.AW(a[p.AFile])
		wb, kb, okb := p.BW(b[p.BFile])
		if !oka || !okb {
			k := ka
			if oka {
				k = kb
			}
			out = append(out, Finding{p.A, p.What, "skipped", k + " not recorded"})
			continue
		}
		fa := m.Roles[p.A].Files[p.AFile].Path
		fb := m.Roles[p.B].Files[p.BFile].Path
		if wa != wb {
			err := badinput.Errorf("%s: widths do not match: %s %s = %d (role %s) but %s %s = %d (role %s)",
				dir, fa, ka, wa, p.A, fb, kb, wb, p.B)
			fail(Finding{p.A, p.What, "FAIL", fmt.Sprintf("%s %s = %d, %s %s = %d", fa, ka, wa, fb, kb, wb)}, err)
			continue
		}
		out = append(out, Finding{p.A, p.What, "ok", fmt.Sprintf("%d (%s %s, %s %s)", wa, fa, ka, fb, kb)})
	}
	return out, firstErr
}

// checkProjector refuses a clip file of the wrong kind for its role: the
// image-encoder and embedder roles need an image encoder
// (clip.projector_type "none"), not a LLaVA mmproj.
func checkProjector(r Role, meta *fsggml.GGML) error {
	e, ok := Lookup(Catalogue, r)
	if !ok || e.ProjectorType == "" || meta.KV().Architecture() != e.Arch {
		return nil
	}
	if pt := meta.KV().String("projector_type"); pt != e.ProjectorType {
		return fmt.Errorf("%s.projector_type is %q, the role needs %q (an image encoder with its visual projection, e.g. `multisc convert --arch clip` on a CLIPVisionModelWithProjection folder)", e.Arch, pt, e.ProjectorType)
	}
	return nil
}

func roleErr(r Role, err error) error {
	if badinput.Is(err) {
		return badinput.Errorf("role %s: %v", r, err)
	}
	return fmt.Errorf("role %s: %w", r, err)
}

// Verify hashes every file the manifest lists and compares it with the
// recorded sha256 and size. The error names the first file that differs
// or is missing.
func Verify(dir string) ([]Finding, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	var out []Finding
	var errs []error
	for _, r := range m.SortedRoles() {
		for _, f := range m.Roles[r].Files {
			p := filepath.Join(dir, f.Path)
			sum, n, err := fileSHA256(p)
			switch {
			case err != nil:
				out = append(out, Finding{r, f.Path, "FAIL", "cannot read: " + err.Error()})
				errs = append(errs, badinput.Errorf("%s: role %s: cannot read: %v", p, r, err))
			case sum != f.SHA256 || n != f.Size:
				out = append(out, Finding{r, f.Path, "FAIL", fmt.Sprintf("sha256 %s (%d bytes), manifest says %s (%d bytes)", sum, n, f.SHA256, f.Size)})
				errs = append(errs, badinput.Errorf("%s: role %s: sha256 does not match %s (file changed or damaged; pull it again: `%s`)", p, r, ManifestName, PullCommand(dir, r)))
			default:
				out = append(out, Finding{r, f.Path, "ok", "sha256 " + sum})
			}
		}
	}
	if len(errs) > 0 {
		return out, errs[0]
	}
	return out, errors.Join(errs...)
}

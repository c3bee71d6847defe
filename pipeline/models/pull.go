package models

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/atomicfile"
	"github.com/multisc/multisc/bindings/badinput"
)

// DownloadDir is where pull keeps checkpoints while it converts them,
// relative to the models folder.
const DownloadDir = ".checkpoints"

// stagingDir holds a pull's converted files until every role is done.
const stagingDir = ".staging"

// PullOptions configures Pull.
type PullOptions struct {
	Out  string // the models folder (created if missing)
	Type string // storage type of the GGUF files: f16 (default), q8_0, q4_0, f32, ...
	// FromDir, when set, takes every checkpoint from this folder (at its
	// catalogue Local path, or by base name) and never touches the network.
	FromDir string
	// Endpoints override the publishers' base URLs (HF_ENDPOINT sets
	// HuggingFace); Token is sent to the Hugging Face endpoint (HF_TOKEN).
	Endpoints map[Host]string
	Token     string
	Client    *http.Client
	// IdleTimeout ends a request that receives nothing for that long
	// (default 60 s); Retries is how often a dropped or failed (5xx)
	// request is retried, resuming where it stopped (default 5), waiting
	// RetryWait times the attempt number between tries (default 1 s).
	IdleTimeout time.Duration
	Retries     int
	RetryWait   time.Duration
	// MaxBytes, when > 0, is the most this pull may download (a disk
	// budget; tests simulate a full disk with it).
	MaxBytes int64
	// Parallel is how many files of a role download at once (default 4).
	Parallel int
	// KeepCheckpoints keeps the downloaded checkpoints under
	// Out/.checkpoints after conversion (default: deleted per role once
	// converted).
	KeepCheckpoints bool
	Progress        io.Writer // progress and notes; nil: silent
	Catalogue       []Entry   // nil: Catalogue
}

// Pull fetches the public checkpoints of the roles (every convertible role
// when none is named), verifies them, converts each role to GGUF at
// o.Type, and then, last, writes the manifest atomically, merged with the
// roles already in Out. On any failure the manifest is left as it was.
// Errors are bad-input errors (one line; the CLI exits with status 2).
func Pull(ctx context.Context, roles []Role, o PullOptions) (Manifest, error) {
	cat := o.Catalogue
	if cat == nil {
		cat = Catalogue
	}
	if o.Type == "" {
		o.Type = "f16"
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 60 * time.Second
	}
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.RetryWait <= 0 {
		o.RetryWait = time.Second
	}
	if o.Out == "" {
		return Manifest{}, badinput.Errorf("--out is required")
	}
	t, err := bindings.ParseType(o.Type)
	if err != nil {
		return Manifest{}, badinput.Errorf("--type: %v", err)
	}
	prog := &progress{w: o.Progress}
	var entries []Entry
	if len(roles) == 0 {
		for _, r := range Roles {
			e, ok := Lookup(cat, r)
			if !ok {
				continue
			}
			if !e.Convertible() {
				prog.note("skipping %v", e.NotYet())
				continue
			}
			entries = append(entries, e)
		}
	}
	seen := map[Role]bool{}
	for _, r := range roles {
		if seen[r] {
			continue
		}
		seen[r] = true
		if _, err := ParseRole(string(r)); err != nil {
			return Manifest{}, badinput.Errorf("models pull: %v", err)
		}
		e, ok := Lookup(cat, r)
		if !ok {
			return Manifest{}, badinput.Errorf("models pull: role %s has no catalogue entry", r)
		}
		if !e.Convertible() {
			return Manifest{}, badinput.Errorf("models pull: %v", e.NotYet())
		}
		entries = append(entries, e)
	}
	if o.FromDir != "" {
		if st, err := os.Stat(o.FromDir); err != nil || !st.IsDir() {
			return Manifest{}, badinput.Errorf("--from-dir %s: not a folder", o.FromDir)
		}
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return Manifest{}, badinput.Errorf("--out %s: cannot create the folder: %v", o.Out, err)
	}
	if err := atomicfile.Check(filepath.Join(o.Out, ManifestName)); err != nil {
		return Manifest{}, badinput.Errorf("--out %v", err)
	}
	m := Manifest{Version: ManifestVersion, Roles: map[Role]RoleFiles{}}
	if _, err := os.Stat(filepath.Join(o.Out, ManifestName)); err == nil {
		if m, err = ReadManifest(o.Out); err != nil {
			return Manifest{}, err
		}
	}

	for _, e := range entries {
		if e.LicenceNotice != "" {
			prog.note("%s\n", e.LicenceNotice)
		}
		prog.files += len(e.Files)
	}
	client := o.Client
	if client == nil {
		client = &http.Client{}
	}
	f := &fetcher{o: &o, client: client, progress: prog}
	dl := filepath.Join(o.Out, DownloadDir)
	// Converted files wait in a staging folder until every role is done, so
	// a failed pull leaves the folder's models and manifest as they were.
	stage := filepath.Join(o.Out, stagingDir)
	os.RemoveAll(stage)
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return m, badinput.Errorf("--out %s: %v", o.Out, err)
	}
	defer os.RemoveAll(stage)
	done := map[Role]RoleFiles{}
	for _, e := range entries {
		prog.note("%s: %s (%s, licence %s)", e.Role, e.Model, e.Arch, e.Licence)
		var urls []string
		for _, src := range e.Files {
			urls = append(urls, src.URL(DefaultEndpoints))
		}
		if err := f.fetchAll(ctx, e, dl); err != nil {
			return m, err
		}
		rf, err := convertRole(stage, dl, e, t)
		if err != nil {
			return m, err
		}
		rf.Type = o.Type
		rf.Source = e.Model + " — " + strings.Join(urls, " ")
		done[e.Role] = rf
		for _, f := range rf.Files {
			prog.note("%s: converted %s (%s, %s)", e.Role, f.Path, f.Arch, mib(f.Size))
		}
		if !o.KeepCheckpoints { // with --from-dir: our links or copies; the originals stay
			for _, src := range e.Files {
				os.Remove(filepath.Join(dl, filepath.FromSlash(src.Local)))
			}
		}
	}
	for r, rf := range done {
		for _, f := range rf.Files {
			if err := os.Rename(filepath.Join(stage, f.Path), filepath.Join(o.Out, f.Path)); err != nil {
				return m, fmt.Errorf("--out: %w", err)
			}
		}
		m.Roles[r] = rf
	}
	if err := WriteManifest(o.Out, m); err != nil {
		return m, err
	}
	if !o.KeepCheckpoints {
		removeEmptyDirs(dl)
	}
	return m, nil
}

// fetchAll obtains a role's files, up to o.Parallel at once; the first
// error stops the others.
func (f *fetcher) fetchAll(ctx context.Context, e Entry, dl string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := max(f.o.Parallel, 1)
	if f.o.FromDir != "" {
		n = 1 // local copies: in order, so the first missing file is named
	}
	sem := make(chan struct{}, n)
	errs := make([]error, len(e.Files))
	var wg sync.WaitGroup
	for i, src := range e.Files {
		dst := filepath.Join(dl, filepath.FromSlash(src.Local))
		sem <- struct{}{} // started in order
		if ctx.Err() != nil {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var err error
			if f.o.FromDir != "" {
				err = fromDir(e.Role, src, f.o.FromDir, dst, f.progress)
			} else {
				err = f.fetch(ctx, e.Role, src, dst)
			}
			if err != nil {
				errs[i] = err
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// fromDir places a checkpoint the user already has at dst (a hard link,
// else a copy) after checking it.
func fromDir(role Role, src Source, dir, dst string, prog *progress) error {
	cands := []string{filepath.Join(dir, filepath.FromSlash(src.Local)), filepath.Join(dir, filepath.Base(src.Local))}
	if i := strings.LastIndex(src.Path, "/resolve/"); i >= 0 {
		// the file's path in its repository, e.g. tokenizer/vocab.json
		if j := strings.Index(src.Path[i+len("/resolve/"):], "/"); j >= 0 {
			cands = append(cands, filepath.Join(dir, filepath.FromSlash(src.Path[i+len("/resolve/")+j+1:])))
		}
	}
	var from string
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() {
			from = c
			break
		}
	}
	if from == "" {
		return badinput.Errorf("--from-dir %s: role %s needs %s (looked for %s); download it from %s", dir, role, filepath.Base(src.Local), strings.Join(cands, ", "), src.URL(DefaultEndpoints))
	}
	if err := verifySource(src, from, ""); err != nil {
		return badinput.Errorf("--from-dir: %s: %v", from, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return badinput.Errorf("--out: %v", err)
	}
	os.Remove(dst)
	if err := os.Link(from, dst); err == nil {
		prog.note("  %s: from %s", filepath.Base(dst), from)
		return nil
	}
	in, err := os.Open(from)
	if err != nil {
		return badinput.Errorf("--from-dir: %v", err)
	}
	defer in.Close()
	return atomicfile.Write(dst, 0o644, func(out *os.File) error {
		_, err := io.Copy(out, in)
		return err
	})
}

// convertRole runs the role's registered converter on its downloaded
// inputs and describes the written files.
func convertRole(out, dl string, e Entry, t fsggml.TensorType) (RoleFiles, error) {
	var inputs []string
	for _, in := range e.Inputs {
		inputs = append(inputs, filepath.Join(dl, filepath.FromSlash(in)))
	}
	first := filepath.Join(out, e.Output()[0])
	if mf, ok := bindings.LookupMultiFile(e.Arch); ok && mf.Convert != nil {
		written, err := mf.Convert(inputs, t, first)
		if err != nil {
			return RoleFiles{}, roleErr(e.Role, err)
		}
		if len(written) != len(e.Output()) {
			return RoleFiles{}, fmt.Errorf("role %s: %s wrote %d files, want %d", e.Role, e.Arch, len(written), len(e.Output()))
		}
	} else if err := bindings.ConvertFiles(e.Arch, inputs, t, first); err != nil {
		return RoleFiles{}, roleErr(e.Role, err)
	}
	return record(out, e)
}

// removeEmptyDirs removes dir and its folders when they hold no file.
func removeEmptyDirs(dir string) {
	var dirs []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i]) // fails, harmlessly, when not empty
	}
}

package models

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/multisc/multisc/bindings/atomicfile"
	"github.com/multisc/multisc/bindings/badinput"
)

// ManifestName is the manifest's file name in a models folder.
const ManifestName = "models.json"

// ManifestVersion is the manifest format written by this package.
const ManifestVersion = 1

// Manifest is models.json: what a models folder holds.
type Manifest struct {
	Version int `json:"version"`
	// Roles maps each role present to its files.
	Roles map[Role]RoleFiles `json:"roles"`
}

// RoleFiles is one role of a manifest.
type RoleFiles struct {
	Arch   string `json:"arch"`   // the catalogue's architecture (llava for the captioner pair)
	Type   string `json:"type"`   // storage type asked for: f32, f16, q8_0, ...
	Source string `json:"source"` // "synth tiny seed 1", or the public model and its URLs
	Files  []File `json:"files"`
}

// File is one GGUF file of a role.
type File struct {
	Path   string `json:"path"` // relative to the models folder
	Arch   string `json:"arch"` // its general.architecture
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Set is an opened models folder.
type Set struct {
	Dir      string
	Manifest Manifest
}

// PullCommand is the command that fills a missing role.
func PullCommand(dir string, r Role) string {
	return fmt.Sprintf("multisc models pull %s --out %s", r, dir)
}

// Open reads a models folder's manifest. Nothing is loaded: Path names the
// files, which the caller opens once per process.
func Open(dir string) (*Set, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	return &Set{Dir: dir, Manifest: m}, nil
}

// ReadManifest reads and checks dir/models.json.
func ReadManifest(dir string) (Manifest, error) {
	path := filepath.Join(dir, ManifestName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if st, e := os.Stat(dir); e != nil || !st.IsDir() {
			return Manifest{}, badinput.Errorf("%s: no such models folder (run `multisc models pull --out %s`, or `multisc models synth --out %s` for random weights)", dir, dir, dir)
		}
		return Manifest{}, badinput.Errorf("%s: no %s (run `multisc models pull --out %s`, or `multisc models synth --out %s` for random weights)", dir, ManifestName, dir, dir)
	}
	if err != nil {
		return Manifest{}, badinput.Errorf("%s: %v", path, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, badinput.Errorf("%s: not a models manifest: %v", path, err)
	}
	if m.Version != ManifestVersion {
		return Manifest{}, badinput.Errorf("%s: manifest version %d, this binary reads version %d", path, m.Version, ManifestVersion)
	}
	for r, rf := range m.Roles {
		if _, err := ParseRole(string(r)); err != nil {
			return Manifest{}, badinput.Errorf("%s: %v", path, err)
		}
		if len(rf.Files) == 0 {
			return Manifest{}, badinput.Errorf("%s: role %s lists no files", path, r)
		}
		if e, ok := Lookup(Catalogue, r); ok {
			want := e.Arches()
			if len(rf.Files) != len(want) {
				return Manifest{}, badinput.Errorf("%s: role %s lists %d files, want %d (%s)", path, r, len(rf.Files), len(want), strings.Join(want, ", "))
			}
			for i, f := range rf.Files {
				if f.Arch != want[i] {
					return Manifest{}, badinput.Errorf("%s: role %s: %s is listed as a %q model, the role needs %q", path, r, f.Path, f.Arch, want[i])
				}
			}
		}
		for _, f := range rf.Files {
			if f.Path == "" || filepath.IsAbs(f.Path) || !filepath.IsLocal(f.Path) {
				return Manifest{}, badinput.Errorf("%s: role %s: file path %q is not inside the models folder", path, r, f.Path)
			}
		}
	}
	if m.Roles == nil {
		m.Roles = map[Role]RoleFiles{}
	}
	return m, nil
}

// WriteManifest writes dir/models.json atomically (a reader sees the old
// manifest or the new one, never half of one).
func WriteManifest(dir string, m Manifest) error {
	m.Version = ManifestVersion
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	return atomicfile.Write(filepath.Join(dir, ManifestName), 0o644, func(f *os.File) error {
		_, err := f.Write(b)
		return err
	})
}

// Has reports whether the set holds the role.
func (s *Set) Has(r Role) bool {
	_, ok := s.Manifest.Roles[r]
	return ok
}

// Paths returns the role's files (absolute or relative to the working
// folder, as Dir is): one for most roles, the LM then the mmproj for the
// captioner. A missing role, or a listed file that is gone, is a bad-input
// error naming the role and the pull command that fills it.
func (s *Set) Paths(r Role) ([]string, error) {
	rf, ok := s.Manifest.Roles[r]
	if !ok {
		return nil, badinput.Errorf("%s: role %s is missing from %s; run `%s`", s.Dir, r, ManifestName, PullCommand(s.Dir, r))
	}
	var out []string
	for _, f := range rf.Files {
		p := filepath.Join(s.Dir, f.Path)
		if _, err := os.Stat(p); err != nil {
			return nil, badinput.Errorf("%s: the %s model is missing (listed in %s); run `%s`", p, r, ManifestName, PullCommand(s.Dir, r))
		}
		out = append(out, p)
	}
	return out, nil
}

// Files returns the manifest's record of a role's files (paths relative
// to Dir, architectures, sizes, sha256), for result rows that record which
// models made them; nil when the role is absent.
func (s *Set) Files(r Role) []File {
	return s.Manifest.Roles[r].Files
}

// Path returns the role's (first) file; see Paths.
func (s *Set) Path(r Role) (string, error) {
	ps, err := s.Paths(r)
	if err != nil {
		return "", err
	}
	return ps[0], nil
}

// SortedRoles lists the manifest's roles in catalogue order.
func (m Manifest) SortedRoles() []Role {
	var out []Role
	for r := range m.Roles {
		out = append(out, r)
	}
	order := map[Role]int{}
	for i, r := range Roles {
		order[r] = i
	}
	sort.Slice(out, func(i, j int) bool { return order[out[i]] < order[out[j]] })
	return out
}

// fileSHA256 hashes a file.
func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// describe records a written GGUF file for the manifest.
func describe(dir, rel, arch string) (File, error) {
	sum, n, err := fileSHA256(filepath.Join(dir, rel))
	if err != nil {
		return File{}, err
	}
	return File{Path: rel, Arch: arch, Size: n, SHA256: sum}, nil
}

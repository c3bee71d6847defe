package models

import (
	"fmt"
	"path/filepath"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
)

// SynthResult says what SynthSet wrote and what it skipped.
type SynthResult struct {
	Manifest Manifest
	Skipped  map[Role]error // roles whose architecture is not registered yet
}

// SynthSet writes a complete synthetic models folder: every role whose
// architecture is registered gets a model of that size with seeded random
// weights (stored as typ where a tensor can take it), then the manifest is
// written, last. The same size, seed and type give the same bytes. Roles
// whose architecture is not in this binary are skipped and reported.
func SynthSet(dir, size string, seed uint64, typ string) (SynthResult, error) {
	if size != "tiny" && size != "full" {
		return SynthResult{}, badinput.Errorf("--size %q: want tiny or full", size)
	}
	t, err := bindings.ParseType(typ)
	if err != nil {
		return SynthResult{}, badinput.Errorf("--type: %v", err)
	}
	res := SynthResult{Manifest: Manifest{Version: ManifestVersion, Roles: map[Role]RoleFiles{}}, Skipped: map[Role]error{}}
	for _, r := range Roles {
		e, _ := Lookup(Catalogue, r)
		if !e.Synthesizable() {
			res.Skipped[r] = e.NotYet()
			continue
		}
		rf, err := synthRole(dir, e, size, seed, t)
		if err != nil {
			return res, err
		}
		rf.Type = typ
		rf.Source = fmt.Sprintf("synth %s seed %d (random weights)", size, seed)
		if s := e.SynthSize(size); s != size {
			rf.Source = fmt.Sprintf("synth %s (%s %s) seed %d (random weights)", size, e.Arch, s, seed)
		}
		res.Manifest.Roles[r] = rf
	}
	if err := WriteManifest(dir, res.Manifest); err != nil {
		return res, err
	}
	return res, nil
}

func synthRole(dir string, e Entry, size string, seed uint64, t fsggml.TensorType) (RoleFiles, error) {
	outs := e.Output()
	first := filepath.Join(dir, outs[0])
	if mf, ok := bindings.LookupMultiFile(e.Arch); ok && mf.Synth != nil {
		written, err := mf.Synth(size, seed, t, first)
		if err != nil {
			return RoleFiles{}, fmt.Errorf("role %s: %w", e.Role, err)
		}
		if len(written) != len(outs) {
			return RoleFiles{}, fmt.Errorf("role %s: %s wrote %d files, want %d", e.Role, e.Arch, len(written), len(outs))
		}
	} else if err := bindings.Synth(e.Arch, e.SynthSize(size), seed, t, first); err != nil {
		return RoleFiles{}, fmt.Errorf("role %s: %w", e.Role, err)
	}
	return record(dir, e)
}

// record describes a role's written files for the manifest.
func record(dir string, e Entry) (RoleFiles, error) {
	rf := RoleFiles{Arch: e.Arch}
	for _, rel := range e.Output() {
		meta, err := bindings.Header(filepath.Join(dir, rel))
		if err != nil {
			return RoleFiles{}, err
		}
		f, err := describe(dir, rel, meta.KV().Architecture())
		if err != nil {
			return RoleFiles{}, err
		}
		rf.Files = append(rf.Files, f)
	}
	return rf, nil
}

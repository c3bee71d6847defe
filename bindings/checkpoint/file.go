package checkpoint

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/multisc/multisc/bindings/badinput"
)

// Info describes one tensor of a checkpoint without reading its values.
type Info struct {
	Shape []int // PyTorch order (outermost first)
	DType DType // as stored; Read widens it to f32
}

// Format names a checkpoint file format.
type Format string

const (
	Safetensors   Format = "safetensors"
	PyTorchZip    Format = "pytorch-zip"    // torch.save, torch >= 1.6
	PyTorchLegacy Format = "pytorch-legacy" // torch.save, torch < 1.6 or _use_new_zipfile_serialization=False
)

// File is an open checkpoint: its index is read, its tensor data is not.
// Read loads one tensor at a time; Close releases the file.
type File struct {
	path    string
	format  Format
	f       io.ReaderAt
	closer  io.Closer
	size    int64
	keys    []string
	entries map[string]*entry
}

// entry says where one tensor's bytes are: a contiguous safetensors range,
// or a strided view of a PyTorch storage.
type entry struct {
	info       Info
	begin, end int64 // safetensors: absolute file offsets
	view       *view // PyTorch
}

// legacyMagic is the start of every legacy PyTorch file: PROTO (2 by
// default), then LONG1 of 10 bytes holding the magic number
// 0x1950a86a20f9469cfc6c.
var legacyMagic = []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19")

// Open reads the index of a checkpoint, choosing the format by content:
// a zip archive (PyTorch >= 1.6), the legacy PyTorch magic number, or a
// safetensors header. A state dict saved inside a training checkpoint
// (under "state_dict" or "model") is unwrapped; nested dicts are flattened
// with dots. Errors are bad-input errors naming the file.
func Open(path string) (*File, error) {
	if err := badinput.CheckFile(path, "checkpoint file"); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, badinput.Errorf("%s: %v", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, badinput.Errorf("%s: %v", path, err)
	}
	ck, err := OpenReader(path, f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	ck.closer = f
	return ck, nil
}

// OpenReader is Open on size bytes read through r; name stands for the
// file in errors. Close does not close r.
func OpenReader(name string, r io.ReaderAt, size int64) (*File, error) {
	ck, err := open(name, r, size)
	if err != nil {
		return nil, badinput.Errorf("%s: %v", name, err)
	}
	return ck, nil
}

// open indexes a file; errors do not name the file yet.
func open(path string, f io.ReaderAt, size int64) (ck *File, err error) {
	ck = &File{path: path, f: f, size: size, entries: map[string]*entry{}}
	head := make([]byte, 16)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")):
		ck.format = PyTorchZip
		err = ck.indexZip()
	case len(head) >= len(legacyMagic) && head[0] == 0x80 && bytes.Equal(head[2:len(legacyMagic)], legacyMagic[2:]):
		// any pickle protocol (torch.save's pickle_protocol, default 2)
		ck.format = PyTorchLegacy
		err = ck.indexLegacy()
	case n >= 9 && head[8] == '{' || strings.EqualFold(filepath.Ext(path), ".safetensors"):
		ck.format = Safetensors
		err = ck.indexSafetensors()
	default:
		return nil, errors.New("not a safetensors or PyTorch checkpoint (zip or legacy format)")
	}
	if err != nil {
		return nil, err
	}
	if len(ck.entries) == 0 {
		return nil, errors.New("holds no tensors")
	}
	for k := range ck.entries {
		ck.keys = append(ck.keys, k)
	}
	sort.Strings(ck.keys)
	return ck, nil
}

// Path is the file's path as given to Open.
func (c *File) Path() string { return c.path }

// Format is the file's format.
func (c *File) Format() Format { return c.format }

// Keys lists the tensor names, sorted.
func (c *File) Keys() []string { return append([]string(nil), c.keys...) }

// Info describes the tensor key (shape and stored type).
func (c *File) Info(key string) (Info, bool) {
	e, ok := c.entries[key]
	if !ok {
		return Info{}, false
	}
	return Info{Shape: append([]int(nil), e.info.Shape...), DType: e.info.DType}, true
}

// Read loads one tensor as f32. Errors are bad-input errors naming the file
// and the key. Read may be called from several goroutines at once (it only
// uses ReadAt on the file); its memory is the tensor's, plus the span of
// the storage a strided view covers.
func (c *File) Read(key string) (*Tensor, error) {
	e, ok := c.entries[key]
	if !ok {
		return nil, badinput.Errorf("%s: tensor %s is missing", c.path, key)
	}
	var data []float32
	var err error
	if e.view != nil {
		data, err = c.readView(e.view)
	} else {
		buf := make([]byte, e.end-e.begin)
		if _, err = c.f.ReadAt(buf, e.begin); err == nil {
			data = e.info.DType.decode(buf)
		}
	}
	if err != nil {
		return nil, badinput.Errorf("%s: tensor %s: %v", c.path, key, err)
	}
	return &Tensor{Shape: append([]int(nil), e.info.Shape...), Data: data}, nil
}

// Close releases the file.
func (c *File) Close() error {
	if c.closer == nil {
		return nil
	}
	return c.closer.Close()
}

// readZipRecord reads part of a zip record: straight from the file when the
// record is stored (as torch.save writes them), else by decompressing.
func (c *File) readZipRecord(zf *zip.File, off int64, buf []byte) error {
	if zf.Method == zip.Store {
		base, err := zf.DataOffset()
		if err != nil {
			return err
		}
		_, err = c.f.ReadAt(buf, base+off)
		return err
	}
	rc, err := zf.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.CopyN(io.Discard, rc, off); err != nil {
		return fmt.Errorf("record %s ends early", zf.Name)
	}
	if _, err := io.ReadFull(rc, buf); err != nil {
		return fmt.Errorf("record %s ends early", zf.Name)
	}
	return nil
}

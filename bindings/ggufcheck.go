package bindings

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"

	fsggml "github.com/ollama/ollama/fs/ggml"
)

// GGUF value types (gguf.md).
const (
	ggufU8 = iota
	ggufI8
	ggufU16
	ggufI16
	ggufU32
	ggufI32
	ggufF32
	ggufBool
	ggufString
	ggufArray
	ggufU64
	ggufI64
	ggufF64
)

var ggufFixedSize = map[uint32]uint64{
	ggufU8: 1, ggufI8: 1, ggufBool: 1, ggufU16: 2, ggufI16: 2,
	ggufU32: 4, ggufI32: 4, ggufF32: 4, ggufU64: 8, ggufI64: 8, ggufF64: 8,
}

// errTruncated is a header that claims more than the file holds.
var errTruncated = errors.New("truncated")

// CheckGGUFHeader walks a GGUF header (version 2 or 3, little-endian) and
// checks every count and length against the bytes that remain in the file
// before anything would be allocated for it: key-value and tensor counts,
// string lengths, array element counts, tensor ranks, shapes (overflow),
// types, and each tensor's data range against the file size. ollama's
// decoder allocates whatever a header claims (a 100-byte file declaring an
// array of 2^40 values exhausts memory), so files go through this first.
// Errors wrapping errTruncated mean the header claims more than is there.
func CheckGGUFHeader(r io.ReaderAt, size int64) error {
	c := &ggufChecker{r: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 64<<10), size: size, align: 32}
	return c.check()
}

type ggufChecker struct {
	r     *bufio.Reader
	pos   int64
	size  int64
	align uint64
}

func (c *ggufChecker) remaining() uint64 { return uint64(c.size - c.pos) }

func (c *ggufChecker) read(n int) ([]byte, error) {
	if uint64(n) > c.remaining() {
		return nil, errTruncated
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c.r, b); err != nil {
		return nil, errTruncated
	}
	c.pos += int64(n)
	return b, nil
}

func (c *ggufChecker) u32() (uint32, error) {
	b, err := c.read(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (c *ggufChecker) u64() (uint64, error) {
	b, err := c.read(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// skip passes over n bytes that must be present.
func (c *ggufChecker) skip(n uint64) error {
	if n > c.remaining() {
		return errTruncated
	}
	if _, err := c.r.Discard(int(n)); err != nil {
		return errTruncated
	}
	c.pos += int64(n)
	return nil
}

// str checks a string: u64 length, then that many bytes (returned when
// keep, up to 1 KiB, for keys and names).
func (c *ggufChecker) str(keep bool) (string, error) {
	n, err := c.u64()
	if err != nil {
		return "", err
	}
	if n > c.remaining() {
		return "", fmt.Errorf("%w: string of %d bytes at offset %d", errTruncated, n, c.pos-8)
	}
	if keep {
		if n > 1<<10 {
			return "", fmt.Errorf("name of %d bytes at offset %d", n, c.pos-8)
		}
		b, err := c.read(int(n))
		return string(b), err
	}
	return "", c.skip(n)
}

func (c *ggufChecker) value(t uint32, key string) error {
	if sz, ok := ggufFixedSize[t]; ok {
		if key == "general.alignment" {
			if t != ggufU32 {
				return fmt.Errorf("general.alignment has type %d, want uint32", t)
			}
			a, err := c.u32()
			if err != nil {
				return err
			}
			if a == 0 || a&(a-1) != 0 {
				return fmt.Errorf("general.alignment %d is not a power of two", a)
			}
			c.align = uint64(a)
			return nil
		}
		return c.skip(sz)
	}
	switch t {
	case ggufString:
		_, err := c.str(false)
		return err
	case ggufArray:
		et, err := c.u32()
		if err != nil {
			return err
		}
		n, err := c.u64()
		if err != nil {
			return err
		}
		if sz, ok := ggufFixedSize[et]; ok {
			hi, total := bits.Mul64(n, sz)
			if hi != 0 || total > c.remaining() {
				return fmt.Errorf("%w: key %s: array of %d values (type %d) at offset %d", errTruncated, key, n, et, c.pos-12)
			}
			return c.skip(total)
		}
		if et != ggufString {
			return fmt.Errorf("key %s: arrays of type %d are not supported", key, et)
		}
		if n > c.remaining()/8 {
			return fmt.Errorf("%w: key %s: array of %d strings at offset %d", errTruncated, key, n, c.pos-12)
		}
		for range n {
			if _, err := c.str(false); err != nil {
				return fmt.Errorf("key %s: %w", key, err)
			}
		}
		return nil
	}
	return fmt.Errorf("key %s has unknown value type %d", key, t)
}

func (c *ggufChecker) check() error {
	magic, err := c.read(4)
	if err != nil || string(magic) != "GGUF" {
		return errors.New("not a GGUF file (bad magic)")
	}
	version, err := c.u32()
	if err != nil {
		return err
	}
	if version != 2 && version != 3 {
		return fmt.Errorf("GGUF version %d is not supported (want 2 or 3)", version)
	}
	nt, err := c.u64()
	if err != nil {
		return err
	}
	nkv, err := c.u64()
	if err != nil {
		return err
	}
	// Every key-value takes at least 13 bytes, every tensor info 24.
	if nkv > c.remaining()/13 || nt > c.remaining()/24 {
		return fmt.Errorf("%w: header claims %d key-values and %d tensors in a file of %d bytes", errTruncated, nkv, nt, c.size)
	}
	keys := map[string]bool{}
	for range nkv {
		k, err := c.str(true)
		if err != nil {
			return err
		}
		if keys[k] {
			return fmt.Errorf("key %s appears twice", k)
		}
		keys[k] = true
		t, err := c.u32()
		if err != nil {
			return err
		}
		if err := c.value(t, k); err != nil {
			return err
		}
	}
	type info struct {
		name       string
		off, bytes uint64
	}
	var tensors []info
	names := map[string]bool{}
	for range nt {
		name, err := c.str(true)
		if err != nil {
			return err
		}
		if names[name] {
			return fmt.Errorf("tensor %s appears twice", name)
		}
		names[name] = true
		dims, err := c.u32()
		if err != nil {
			return err
		}
		if dims == 0 || dims > 4 {
			return fmt.Errorf("tensor %s has %d dimensions (ggml: 1 to 4)", name, dims)
		}
		n := uint64(1)
		shape := make([]uint64, dims)
		for i := range shape {
			if shape[i], err = c.u64(); err != nil {
				return err
			}
			var hi uint64
			if hi, n = bits.Mul64(n, shape[i]); hi != 0 || n > 1<<50 {
				return fmt.Errorf("tensor %s: shape %v overflows", name, shape[:i+1])
			}
		}
		kind, err := c.u32()
		if err != nil {
			return err
		}
		tt := fsggml.TensorType(kind)
		if !knownType(tt) {
			return fmt.Errorf("tensor %s has unknown type %d", name, kind)
		}
		if bs := tt.BlockSize(); shape[0]%bs != 0 {
			return fmt.Errorf("tensor %s: rows of %d do not divide into %s blocks of %d", name, shape[0], tt, bs)
		}
		off, err := c.u64()
		if err != nil {
			return err
		}
		tensors = append(tensors, info{name, off, n / tt.BlockSize() * tt.TypeSize()})
	}
	dataStart := (uint64(c.pos) + c.align - 1) / c.align * c.align
	if dataStart > uint64(c.size) && nt > 0 {
		return fmt.Errorf("%w: no tensor data after the header", errTruncated)
	}
	for _, t := range tensors {
		if t.off%c.align != 0 {
			return fmt.Errorf("tensor %s: offset %d is not a multiple of the alignment %d", t.name, t.off, c.align)
		}
		if avail := uint64(c.size) - dataStart; t.off > avail || t.bytes > avail-t.off {
			return fmt.Errorf("%w: tensor %s needs bytes %d to %d of the data, the file holds %d", errTruncated, t.name, t.off, t.off+t.bytes, avail)
		}
	}
	return nil
}

package checkpoint

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/bits"
	"path"
	"strconv"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// storage is one PyTorch storage: numel elements of dtype, whose bytes are
// at file offset off (legacy) or at the start of zip record zf.
type storage struct {
	key   string
	dtype DType
	numel int64
	off   int64
	zf    *zip.File
}

// storageRef is what a persistent id resolves to: a storage, or (legacy
// files of very old torch) a slice of one starting at element elemOff.
type storageRef struct {
	st      *storage
	elemOff int64
	numel   int64
}

// view is a tensor: a strided window on a storage (torch's
// _rebuild_tensor_v2 arguments), checked to lie inside it.
type view struct {
	ref    *storageRef
	offset int64
	size   []int
	stride []int64
	numel  int64
}

// storageClass is a torch.<Type>Storage class named in the pickle.
type storageClass struct{ dtype DType }

var storageTypes = map[string]DType{
	"FloatStorage": "F32", "HalfStorage": "F16", "BFloat16Storage": "BF16",
	"DoubleStorage": "F64", "LongStorage": "I64", "IntStorage": "I32",
	"ShortStorage": "I16", "CharStorage": "I8", "ByteStorage": "U8", "BoolStorage": "BOOL",
}

// rebuild is one of torch._utils' tensor rebuild functions. Calling it
// builds a view description; nothing else is ever called.
type rebuild string

func (r rebuild) Call(args ...any) (any, error) {
	switch r {
	case "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3":
		if len(args) < 4 {
			return nil, fmt.Errorf("%s with %d arguments", r, len(args))
		}
		return makeView(args[0], args[1], args[2], args[3])
	case "_rebuild_parameter", "_rebuild_parameter_with_state":
		if len(args) < 1 {
			return nil, fmt.Errorf("%s without arguments", r)
		}
		if v, ok := args[0].(*view); ok {
			return v, nil
		}
		return nil, fmt.Errorf("%s of a %T", r, args[0])
	case "_rebuild_from_type_v2":
		// (func, new_type, args, state): rebuild with func, ignore the type.
		if len(args) < 3 {
			return nil, fmt.Errorf("%s with %d arguments", r, len(args))
		}
		f, ok1 := args[0].(rebuild)
		a, ok2 := args[2].(*types.Tuple)
		if !ok1 || !ok2 || f == r {
			return nil, fmt.Errorf("%s with unexpected arguments", r)
		}
		inner := make([]any, a.Len())
		for i := range inner {
			inner[i] = a.Get(i)
		}
		return f.Call(inner...)
	}
	return nil, fmt.Errorf("unsupported torch function %s", string(r))
}

// findClass resolves GLOBAL opcodes: torch's storages and rebuild functions
// map to this package's descriptions; any other class becomes gopickle's
// inert generic class (collections.OrderedDict and a few builtins are
// handled by gopickle itself before this is asked).
func findClass(module, name string) (any, error) {
	switch module {
	case "torch._utils":
		if strings.HasPrefix(name, "_rebuild_") {
			return rebuild(name), nil
		}
	case "torch":
		if dt, ok := storageTypes[name]; ok {
			return storageClass{dt}, nil
		}
	case "collectionz": // collections, renamed by readPickle
		if name == "OrderedDict" {
			return orderedDictClass{}, nil
		}
	}
	return inertClass{module + "." + name}, nil
}

// orderedDictClass is collections.OrderedDict, called with no argument
// (Python 3) or with a list of [key, value] pairs (Python 2).
type orderedDictClass struct{}

func (orderedDictClass) Call(args ...any) (any, error) {
	d := types.NewOrderedDict()
	if len(args) == 0 {
		return d, nil
	}
	items, ok := args[0].(*types.List)
	if len(args) != 1 || !ok {
		return nil, fmt.Errorf("OrderedDict(%d arguments): want none or one list of pairs", len(args))
	}
	for i := 0; i < items.Len(); i++ {
		var k, v any
		switch p := items.Get(i).(type) {
		case *types.List:
			if p.Len() != 2 {
				return nil, fmt.Errorf("OrderedDict item %d has %d elements, want 2", i, p.Len())
			}
			k, v = p.Get(0), p.Get(1)
		case *types.Tuple:
			if p.Len() != 2 {
				return nil, fmt.Errorf("OrderedDict item %d has %d elements, want 2", i, p.Len())
			}
			k, v = p.Get(0), p.Get(1)
		default:
			return nil, fmt.Errorf("OrderedDict item %d is a %T, want a pair", i, p)
		}
		d.Set(k, v)
	}
	return d, nil
}

// inertClass stands for any class or function a pickle names that is not a
// tensor or storage (argparse.Namespace, numpy scalars, optimizer state):
// calling or instantiating it gives an inertObject, whatever the arguments.
type inertClass struct{ name string }

func (c inertClass) Call(...any) (any, error)  { return &inertObject{c.name}, nil }
func (c inertClass) PyNew(...any) (any, error) { return &inertObject{c.name}, nil }

// inertObject is an instance of an inertClass; BUILD state is dropped.
type inertObject struct{ class string }

func (o *inertObject) PySetState(any) error { return nil }

func toInt64(x any) (int64, bool) {
	switch v := x.(type) {
	case int:
		return int64(v), true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func intTuple(x any, what string) ([]int64, error) {
	t, ok := x.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("tensor %s is a %T, not a tuple", what, x)
	}
	out := make([]int64, t.Len())
	for i := range out {
		v, ok := toInt64(t.Get(i))
		if !ok {
			return nil, fmt.Errorf("tensor %s holds a %T", what, t.Get(i))
		}
		out[i] = v
	}
	return out, nil
}

// makeView checks _rebuild_tensor's arguments: the storage, a non-negative
// offset, sizes and non-negative strides of equal rank whose furthest
// element lies inside the storage, and no more elements than the storage
// holds (expanded views, stride 0, would multiply memory).
func makeView(st, off, size, stride any) (*view, error) {
	ref, ok := st.(*storageRef)
	if !ok {
		return nil, fmt.Errorf("tensor storage is a %T", st)
	}
	o, ok := toInt64(off)
	if !ok || o < 0 {
		return nil, fmt.Errorf("tensor storage offset %s", describe(off))
	}
	sz, err := intTuple(size, "size")
	if err != nil {
		return nil, err
	}
	sd, err := intTuple(stride, "stride")
	if err != nil {
		return nil, err
	}
	if len(sz) != len(sd) {
		return nil, fmt.Errorf("tensor size %v and stride %v differ in rank", sz, sd)
	}
	shape := make([]int, len(sz))
	for i, d := range sz {
		if d < 0 || d > MaxElements {
			return nil, fmt.Errorf("tensor size %v", sz)
		}
		shape[i] = int(d)
	}
	n, err := numel(shape)
	if err != nil {
		return nil, err
	}
	v := &view{ref: ref, offset: o, size: shape, stride: sd, numel: n}
	if n == 0 {
		return v, nil
	}
	last := uint64(o)
	for i, d := range sz {
		if sd[i] < 0 {
			return nil, fmt.Errorf("tensor stride %v is negative", sd)
		}
		hi, lo := bits.Mul64(uint64(d-1), uint64(sd[i]))
		if hi != 0 || lo > MaxElements {
			return nil, fmt.Errorf("tensor size %v and stride %v reach outside any storage", sz, sd)
		}
		last += lo
	}
	if last >= uint64(ref.numel) {
		return nil, fmt.Errorf("tensor view (offset %d, size %v, stride %v) reaches outside its storage of %d elements", o, sz, sd, ref.numel)
	}
	if n > ref.numel {
		return nil, fmt.Errorf("tensor of %d elements is an expanded view of a storage of %d (save it with .contiguous())", n, ref.numel)
	}
	return v, nil
}

// unpickler runs gopickle's unpickler on bytes already checked by
// readPickle, with the class table above and the given persistent-id
// loader; a panic inside gopickle on malformed data becomes an error.
func unpickle(data []byte, persistent func(any) (any, error)) (obj any, err error) {
	defer func() {
		if p := recover(); p != nil {
			obj, err = nil, fmt.Errorf("malformed pickle: %v", p)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(data))
	u.FindClass = findClass
	u.PersistentLoad = persistent
	if persistent == nil {
		u.PersistentLoad = func(any) (any, error) { return nil, errors.New("unexpected persistent id") }
	}
	obj, err = u.Load()
	if err != nil {
		return nil, fmt.Errorf("malformed pickle: %v", err)
	}
	return obj, nil
}

// storageID reads a persistent id ('storage', class, key, location, numel,
// ...) into a new or known storage.
func storageID(pid any, known map[string]*storage, fileSize int64) (*storage, *types.Tuple, error) {
	t, ok := pid.(*types.Tuple)
	if !ok || t.Len() < 5 {
		return nil, nil, fmt.Errorf("malformed pickle: persistent id %T", pid)
	}
	if s, _ := t.Get(0).(string); s != "storage" {
		return nil, nil, fmt.Errorf("malformed pickle: persistent id of kind %s", describe(t.Get(0)))
	}
	cls, ok1 := t.Get(1).(storageClass)
	key, ok2 := t.Get(2).(string)
	n, ok3 := toInt64(t.Get(4))
	if !ok1 {
		return nil, nil, fmt.Errorf("unsupported storage type %s", describe(t.Get(1)))
	}
	if !ok2 || !ok3 || n < 0 || n > MaxElements || n*cls.dtype.elemSize() > fileSize {
		return nil, nil, fmt.Errorf("malformed storage reference (key %s, %s elements) for a file of %d bytes", describe(t.Get(2)), describe(t.Get(4)), fileSize)
	}
	if s, ok := known[key]; ok {
		if s.dtype != cls.dtype || s.numel != n {
			return nil, nil, fmt.Errorf("storage %s is referenced with two types or sizes", key)
		}
		return s, t, nil
	}
	s := &storage{key: key, dtype: cls.dtype, numel: n, off: -1}
	known[key] = s
	return s, t, nil
}

// indexZip reads a torch.save zip: <dir>/data.pkl is the object, tensor
// bytes are in records <dir>/data/<key>.
func (c *File) indexZip() error {
	zr, err := zip.NewReader(c.f, c.size)
	if err != nil {
		return fmt.Errorf("not a PyTorch zip checkpoint: %v", err)
	}
	records := map[string]*zip.File{}
	var pkl *zip.File
	for _, zf := range zr.File {
		records[zf.Name] = zf
		if path.Base(zf.Name) == "data.pkl" && (pkl == nil || len(zf.Name) < len(pkl.Name)) {
			pkl = zf
		}
	}
	if pkl == nil {
		return errors.New("not a PyTorch checkpoint (zip without data.pkl)")
	}
	dir := path.Dir(pkl.Name)
	if _, ok := records[dir+"/constants.pkl"]; ok {
		return errors.New("a TorchScript archive, not a checkpoint (save the state_dict with torch.save)")
	}
	if bo, ok := records[dir+"/byteorder"]; ok {
		b := make([]byte, 6)
		if bo.UncompressedSize64 > 6 || c.readZipRecord(bo, 0, b[:bo.UncompressedSize64]) != nil || string(b[:bo.UncompressedSize64]) != "little" {
			return errors.New("big-endian PyTorch checkpoints are not supported")
		}
	}
	// torch.save stores records uncompressed; a compressed data.pkl may not
	// claim more than deflate can produce (about 1032 bytes per byte).
	if n := pkl.UncompressedSize64; n > maxPickle || pkl.Method != zip.Store && n > 1100*pkl.CompressedSize64+4096 {
		return fmt.Errorf("data.pkl of %d bytes (%d stored) is not a state dict's pickle", n, pkl.CompressedSize64)
	}
	rc, err := pkl.Open()
	if err != nil {
		return fmt.Errorf("reading data.pkl: %v", err)
	}
	raw, err := io.ReadAll(io.LimitReader(rc, int64(pkl.UncompressedSize64)+1))
	rc.Close()
	if err != nil {
		return fmt.Errorf("reading data.pkl: %v", err)
	}
	data, err := readPickle(bufio.NewReader(bytes.NewReader(raw)), int64(len(raw)))
	if err != nil {
		return fmt.Errorf("data.pkl: %v", err)
	}
	known := map[string]*storage{}
	obj, err := unpickle(data, func(pid any) (any, error) {
		s, _, err := storageID(pid, known, c.size)
		if err != nil {
			return nil, err
		}
		if s.zf == nil {
			zf, ok := records[dir+"/data/"+s.key]
			if !ok {
				return nil, fmt.Errorf("storage %s: record data/%s is missing", s.key, s.key)
			}
			if hi, need := bits.Mul64(uint64(s.numel), uint64(s.dtype.elemSize())); hi != 0 || zf.UncompressedSize64 < need {
				return nil, fmt.Errorf("storage %s: %d elements of %s, record holds %d bytes", s.key, s.numel, s.dtype, zf.UncompressedSize64)
			}
			s.zf = zf
		}
		return &storageRef{st: s, numel: s.numel}, nil
	})
	if err != nil {
		return err
	}
	return c.addTensors(obj)
}

// indexLegacy reads the legacy format: pickles of the magic number, the
// protocol version (1001) and sys info, the object with storages as
// persistent ids, the list of storage keys; then, per key in that order,
// the storage as an int64 element count and its raw bytes.
func (c *File) indexLegacy() error {
	r := bufio.NewReader(io.NewSectionReader(c.f, 0, c.size))
	var pos int64
	next := func(what string) ([]byte, error) {
		b, err := readPickle(r, c.size-pos)
		if err != nil {
			return nil, fmt.Errorf("legacy PyTorch checkpoint: %s: %v", what, err)
		}
		pos += int64(len(b))
		return b, nil
	}
	b, err := next("magic number")
	if err != nil {
		return err
	}
	if m, _ := unpickle(b, nil); func() bool { n, ok := m.(*big.Int); return !ok || n.Text(16) != "1950a86a20f9469cfc6c" }() {
		return errors.New("legacy PyTorch checkpoint: bad magic number")
	}
	if b, err = next("protocol version"); err != nil {
		return err
	}
	if v, _ := unpickle(b, nil); v != 1001 {
		return fmt.Errorf("legacy PyTorch checkpoint: protocol version %s, want 1001", describe(v))
	}
	if b, err = next("sys info"); err != nil {
		return err
	}
	info, err := unpickle(b, nil)
	if err != nil {
		return fmt.Errorf("legacy PyTorch checkpoint: sys info: %v", err)
	}
	if d, ok := info.(*types.Dict); ok {
		if le, found := d.Get("little_endian"); found && le != true {
			return errors.New("big-endian PyTorch checkpoints are not supported")
		}
	}
	if b, err = next("object"); err != nil {
		return err
	}
	known := map[string]*storage{}
	obj, err := unpickle(b, func(pid any) (any, error) {
		if t, ok := pid.(*types.Tuple); ok && t.Len() >= 2 && t.Get(0) == "module" {
			return inertClass{"torch.nn.Module"}, nil
		}
		s, t, err := storageID(pid, known, c.size)
		if err != nil {
			return nil, err
		}
		ref := &storageRef{st: s, numel: s.numel}
		if t.Len() >= 6 && t.Get(5) != nil {
			// view metadata (view_key, offset, view_size) of torch < 0.4
			vm, ok := t.Get(5).(*types.Tuple)
			if !ok || vm.Len() != 3 {
				return nil, fmt.Errorf("malformed storage view %s", describe(t.Get(5)))
			}
			o, ok1 := toInt64(vm.Get(1))
			n, ok2 := toInt64(vm.Get(2))
			if !ok1 || !ok2 || o < 0 || n < 0 || o > s.numel || n > s.numel-o {
				return nil, fmt.Errorf("storage view (%s, %s) outside storage %s of %d elements", describe(vm.Get(1)), describe(vm.Get(2)), s.key, s.numel)
			}
			ref = &storageRef{st: s, elemOff: o, numel: n}
		}
		return ref, nil
	})
	if err != nil {
		return err
	}
	if b, err = next("storage keys"); err != nil {
		return err
	}
	keys, err := unpickle(b, nil)
	if err != nil {
		return err
	}
	list, ok := keys.(*types.List)
	if !ok {
		return fmt.Errorf("legacy PyTorch checkpoint: storage keys are a %T", keys)
	}
	for _, k := range *list {
		key, _ := k.(string)
		s, ok := known[key]
		if !ok || s.off >= 0 {
			return fmt.Errorf("legacy PyTorch checkpoint: storage key %s is unknown or repeated", describe(k))
		}
		var nb [8]byte
		if _, err := c.f.ReadAt(nb[:], pos); err != nil {
			return fmt.Errorf("legacy PyTorch checkpoint: storage %s: data ends early", key)
		}
		n := int64(binary.LittleEndian.Uint64(nb[:]))
		if n != s.numel {
			return fmt.Errorf("legacy PyTorch checkpoint: storage %s holds %d elements, the object says %d", key, n, s.numel)
		}
		s.off = pos + 8
		pos = s.off + n*s.dtype.elemSize()
		if pos > c.size {
			return fmt.Errorf("legacy PyTorch checkpoint: storage %s: data ends early (file is %d bytes, needs %d)", key, c.size, pos)
		}
	}
	for key, s := range known {
		if s.off < 0 {
			return fmt.Errorf("legacy PyTorch checkpoint: storage %s has no data", key)
		}
	}
	return c.addTensors(obj)
}

// maxNodes bounds the objects visited while flattening a pickled object
// (shared sub-objects are visited once per path).
const maxNodes = 1 << 20

// addTensors flattens the pickled object into dotted keys (nested dicts),
// then unwraps a state dict stored under "state_dict" or "model".
func (c *File) addTensors(obj any) error {
	budget := maxNodes
	var walk func(prefix string, obj any, depth int) error
	walk = func(prefix string, obj any, depth int) error {
		if budget--; budget < 0 || depth > 32 {
			return errors.New("object nests too deep or too wide for a state dict")
		}
		join := func(k any) string {
			if prefix == "" {
				return keyName(k)
			}
			return prefix + "." + keyName(k)
		}
		switch v := obj.(type) {
		case *types.OrderedDict:
			for e := v.List.Front(); e != nil; e = e.Next() {
				entry := e.Value.(*types.OrderedDictEntry)
				if err := walk(join(entry.Key), entry.Value, depth+1); err != nil {
					return err
				}
			}
		case *types.Dict:
			for _, e := range *v {
				if err := walk(join(e.Key), e.Value, depth+1); err != nil {
					return err
				}
			}
		case *view:
			if _, dup := c.entries[prefix]; dup {
				return fmt.Errorf("tensor %s appears twice", prefix)
			}
			c.entries[prefix] = &entry{info: Info{Shape: v.size, DType: v.ref.st.dtype}, view: v}
		}
		// Other values (step counters, hyper-parameters) are not tensors.
		return nil
	}
	if err := walk("", obj, 0); err != nil {
		return err
	}
	for _, k := range []string{"state_dict", "model"} {
		if len(c.entries) == 0 {
			break
		}
		sub := map[string]*entry{}
		for name, e := range c.entries {
			if rest, ok := strings.CutPrefix(name, k+"."); ok {
				sub[rest] = e
			}
		}
		if len(sub) == len(c.entries) {
			c.entries = sub
		}
	}
	return nil
}

// readView reads the part of a storage a view covers and gathers the view's
// elements in row-major order.
func (c *File) readView(v *view) ([]float32, error) {
	if v.numel == 0 {
		return []float32{}, nil
	}
	span := int64(1)
	for i, d := range v.size {
		span += int64(d-1) * v.stride[i]
	}
	es := v.ref.st.dtype.elemSize()
	start := v.ref.elemOff + v.offset
	buf := make([]byte, span*es)
	var err error
	if s := v.ref.st; s.zf != nil {
		err = c.readZipRecord(s.zf, start*es, buf)
	} else {
		_, err = c.f.ReadAt(buf, s.off+start*es)
	}
	if err != nil {
		return nil, fmt.Errorf("reading its storage: %v", err)
	}
	vals := v.ref.st.dtype.decode(buf)
	if rowMajor(v.size, v.stride) {
		return vals, nil
	}
	out := make([]float32, v.numel)
	idx := make([]int, len(v.size))
	for i := range out {
		var off int64
		for d := range idx {
			off += int64(idx[d]) * v.stride[d]
		}
		out[i] = vals[off]
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < v.size[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}

// rowMajor reports whether strides are the contiguous row-major ones
// (dimensions of size 1 may have any stride).
func rowMajor(size []int, stride []int64) bool {
	want := int64(1)
	for d := len(size) - 1; d >= 0; d-- {
		if size[d] != 1 && stride[d] != want {
			return false
		}
		want *= int64(size[d])
	}
	return true
}

// describe prints a pickled value for a key or a message: scalars as they
// are, anything else by its type only. (Formatting a pickled container with
// %v recurses without end when it contains itself: found by FuzzTorchLegacy
// as a fatal stack overflow.)
func describe(x any) string {
	switch v := x.(type) {
	case nil:
		return "None"
	case string:
		if len(v) > 200 {
			return strconv.Quote(v[:200]) + "..."
		}
		return v
	case int, int64, bool, float64:
		return fmt.Sprint(v)
	case *big.Int:
		if v.BitLen() > 256 {
			return "a large integer"
		}
		return v.String()
	}
	return fmt.Sprintf("a %T", x)
}

// keyName is a state-dict key (a string, an int for nn.Sequential-style
// indices, else the type).
func keyName(k any) string {
	if s, ok := k.(string); ok {
		return s
	}
	return describe(k)
}

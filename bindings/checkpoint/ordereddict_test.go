package checkpoint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// py2Tensor is a tensor expression (no surrounding dict) viewing storage
// "0" of 6 floats, saved from a GPU, as LPIPS's published weights were.
func py2Tensor(offset int32, size, stride string) string {
	return "ctorch._utils\n_rebuild_tensor_v2\n((" + pStr("storage") + "ctorch\nFloatStorage\n" + pStr("0") +
		pStr("cuda:0") + pInt(6) + "NtQ" + pInt(offset) + size + stride + "\x89}tR"
}

// py2OrderedDict is Python 2's pickle of an OrderedDict: GLOBAL
// collections.OrderedDict called with one list of [key, value] lists.
func py2OrderedDict(items ...string) string {
	return "\x80\x02ccollections\nOrderedDict\n(](" + strings.Join(items, "") + "etR."
}

func py2Pair(key, value string) string { return "](" + pStr(key) + value + "e" }

// TestLegacyPython2OrderedDict: a legacy file whose state dict is a Python 2
// OrderedDict (constructor arguments, which gopickle alone refuses) loads
// in order; a malformed pair is refused naming the file.
func TestLegacyPython2OrderedDict(t *testing.T) {
	dir := t.TempDir()
	six := []float32{0, 1, 2, 3, 4, 5}
	obj := py2OrderedDict(py2Pair("b", py2Tensor(0, pTuple(3), pTuple(1))), py2Pair("a", py2Tensor(3, pTuple(3), pTuple(1))))
	p := filepath.Join(dir, "py2.pth")
	if err := os.WriteFile(p, legacyFile(obj, 6, six), 0o644); err != nil {
		t.Fatal(err)
	}
	sd, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if b, a := sd["b"], sd["a"]; len(sd) != 2 || b.Data[0] != 0 || b.Data[2] != 2 || a.Data[0] != 3 || a.Data[2] != 5 {
		t.Fatalf("state dict %+v", sd)
	}
	bad := py2OrderedDict("](" + pStr("a") + pStr("b") + pStr("c") + "e")
	p = filepath.Join(dir, "bad.pth")
	if err := os.WriteFile(p, legacyFile(bad, 0, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "has 3 elements") || !strings.Contains(err.Error(), p) {
		t.Fatalf("got %v, want the malformed pair named", err)
	}
}

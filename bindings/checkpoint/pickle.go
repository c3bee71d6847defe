package checkpoint

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// maxPickle bounds one pickle stream (a state dict's pickle is kilobytes to
// a few megabytes; the tensor data is elsewhere).
const maxPickle = 512 << 20

// errCut is a pickle stream that ends before its STOP.
var errCut = errors.New("pickle data ends early")

// Argument kinds of pickle opcodes (Python's pickletools).
const (
	argNone  = iota
	argFixed // n bytes
	argLine  // up to a newline
	argLine2 // two lines
	argLen1  // u8 length, then that many bytes
	argLen4  // i32 length (little-endian), then that many bytes
	argLen8  // u64 length, then that many bytes
	argFrame // u64 frame length (the frame's opcodes follow and are scanned)
)

type opArg struct{ kind, n int }

// gopickle builds collections.OrderedDict itself and refuses constructor
// arguments, which Python 2's pickles of an OrderedDict pass (a list of
// [key, value] pairs; LPIPS's published weights are such a file). readPickle
// renames the module of that GLOBAL opcode in place, to a name of the same
// length, so that findClass is asked and gives orderedDictClass.
const (
	orderedDictGlobal = "collections\nOrderedDict\n"
	orderedDictAlias  = "collectionz\nOrderedDict\n"
)

// pickleOps lists every opcode of pickle protocols 0 to 5 with its argument.
var pickleOps = func() map[byte]opArg {
	m := map[byte]opArg{}
	for _, c := range []byte("(.012NQRabde}lo]st)u\x81\x85\x86\x87\x88\x89\x8f\x90\x91\x92\x93\x94\x97\x98") {
		m[c] = opArg{argNone, 0}
	}
	for c, n := range map[byte]int{'J': 4, 'K': 1, 'M': 2, 'h': 1, 'j': 4, 'q': 1, 'r': 4, 'G': 8, 0x80: 1, 0x82: 1, 0x83: 2, 0x84: 4} {
		m[c] = opArg{argFixed, n}
	}
	for _, c := range []byte("FILPSVgp") {
		m[c] = opArg{argLine, 0}
	}
	m['c'], m['i'] = opArg{argLine2, 0}, opArg{argLine2, 0}
	for _, c := range []byte{'U', 'C', 0x8a, 0x8c} {
		m[c] = opArg{argLen1, 0}
	}
	for _, c := range []byte{'T', 'X', 'B', 0x8b} {
		m[c] = opArg{argLen4, 0}
	}
	for _, c := range []byte{0x8d, 0x8e, 0x96} {
		m[c] = opArg{argLen8, 0}
	}
	m[0x95] = opArg{argFrame, 0}
	return m
}()

// readPickle reads one pickle stream from r, up to and including its STOP
// opcode, checking every opcode and every length argument against the
// bytes that remain (at most limit) before reading them. The bytes it
// returns are safe to hand to gopickle, which allocates what lengths say.
func readPickle(r *bufio.Reader, limit int64) ([]byte, error) {
	if limit > maxPickle {
		limit = maxPickle
	}
	var out []byte
	take := func(n int64) ([]byte, error) {
		if n < 0 || n > limit-int64(len(out)) {
			return nil, errCut
		}
		start := len(out)
		out = append(out, make([]byte, n)...)
		if _, err := io.ReadFull(r, out[start:]); err != nil {
			return nil, errCut
		}
		return out[start:], nil
	}
	line := func() error {
		for {
			b, err := take(1)
			if err != nil {
				return err
			}
			if b[0] == '\n' {
				return nil
			}
		}
	}
	for {
		op, err := take(1)
		if err != nil {
			return nil, err
		}
		code := op[0]
		a, ok := pickleOps[code]
		if !ok {
			return nil, fmt.Errorf("malformed pickle: unknown opcode 0x%02x at byte %d", code, len(out)-1)
		}
		switch a.kind {
		case argFixed:
			_, err = take(int64(a.n))
		case argLine:
			err = line()
		case argLine2:
			start := len(out)
			if err = line(); err == nil {
				err = line()
			}
			if err == nil && string(out[start:]) == orderedDictGlobal {
				copy(out[start:], orderedDictAlias)
			}
		case argLen1:
			var b []byte
			if b, err = take(1); err == nil {
				_, err = take(int64(b[0]))
			}
		case argLen4:
			var b []byte
			if b, err = take(4); err == nil {
				_, err = take(int64(int32(binary.LittleEndian.Uint32(b))))
			}
		case argLen8, argFrame:
			var b []byte
			if b, err = take(8); err == nil {
				n := binary.LittleEndian.Uint64(b)
				if n > uint64(limit) {
					return nil, errCut
				}
				if a.kind == argLen8 {
					_, err = take(int64(n))
				} else if n > uint64(limit-int64(len(out))) {
					err = errCut
				}
			}
		}
		if err != nil {
			return nil, err
		}
		if code == '.' {
			return out, nil
		}
	}
}

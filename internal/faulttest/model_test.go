package faulttest

import (
	"fmt"
	"hash/fnv"
	"math"
	"sort"

	"github.com/anishathalye/porcupine"
)

// The register model: each key is a znode whose state is its data and its data version.
// A write is setData(-1), a cas is setData(expected version), a read is sync + getData.

type opKind int

const (
	opRead opKind = iota
	opWrite
	opCAS
)

type regState struct {
	val string
	ver int32
}

type regInput struct {
	key    string
	kind   opKind
	val    string // write, cas
	expVer int32  // cas
}

type regOutput struct {
	// unknown: no answer (connection loss, timeout, expired session): the write may or may
	// not have happened. Its operation never returns (porcupine's way to model it).
	unknown bool
	ok      bool // cas: applied; false is BADVERSION
	val     string
	ver     int32 // read: the version read; write and applied cas: the version produced
}

const initVal = "init"

// never is the return time of operations whose outcome is unknown.
const never = math.MaxInt64

var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(regInput).key
			byKey[k] = append(byKey[k], op)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return regState{val: initVal} },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(regState), input.(regInput), output.(regOutput)
		switch in.kind {
		case opRead:
			return out.val == s.val && out.ver == s.ver, s
		case opWrite:
			next := regState{val: in.val, ver: s.ver + 1}
			return out.unknown || out.ver == next.ver, next
		default: // opCAS
			next := regState{val: in.val, ver: s.ver + 1}
			match := s.ver == in.expVer
			switch {
			case out.unknown && match:
				return true, next
			case out.unknown:
				return true, s
			case out.ok:
				return match && out.ver == next.ver, next
			default:
				return !match, s
			}
		}
	},
	Hash: func(state any) uint64 {
		s := state.(regState)
		h := fnv.New64a()
		fmt.Fprintf(h, "%s/%d", s.val, s.ver)
		return h.Sum64()
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(regInput), output.(regOutput)
		switch in.kind {
		case opRead:
			return fmt.Sprintf("read %s -> %q v%d", in.key, out.val, out.ver)
		case opWrite:
			if out.unknown {
				return fmt.Sprintf("write %s %q -> ?", in.key, in.val)
			}
			return fmt.Sprintf("write %s %q -> v%d", in.key, in.val, out.ver)
		default:
			switch {
			case out.unknown:
				return fmt.Sprintf("cas %s v%d %q -> ?", in.key, in.expVer, in.val)
			case out.ok:
				return fmt.Sprintf("cas %s v%d %q -> v%d", in.key, in.expVer, in.val, out.ver)
			default:
				return fmt.Sprintf("cas %s v%d %q -> BADVERSION", in.key, in.expVer, in.val)
			}
		}
	},
	DescribeState: func(state any) string {
		s := state.(regState)
		return fmt.Sprintf("%q v%d", s.val, s.ver)
	},
}

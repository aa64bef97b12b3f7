package faulttest

import (
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/go-zookeeper/zk"
)

// The checkers must catch what they look for, or a passing fault run means nothing. These
// tests need no server.

func op(client int, in regInput, call int64, out regOutput, ret int64) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
}

func TestRegisterModel(t *testing.T) {
	k := "/k"
	w := func(val string) regInput { return regInput{key: k, kind: opWrite, val: val} }
	rd := regInput{key: k, kind: opRead}
	cas := func(exp int32, val string) regInput { return regInput{key: k, kind: opCAS, val: val, expVer: exp} }
	tests := []struct {
		name string
		ops  []porcupine.Operation
		ok   bool
	}{
		{"read after write", []porcupine.Operation{
			op(0, w("a"), 0, regOutput{ver: 1}, 10),
			op(1, rd, 20, regOutput{val: "a", ver: 1}, 30),
		}, true},
		{"stale read after an acknowledged write", []porcupine.Operation{
			op(0, w("a"), 0, regOutput{ver: 1}, 10),
			op(1, rd, 20, regOutput{val: initVal, ver: 0}, 30),
		}, false},
		{"lost acknowledged write seen by a later read", []porcupine.Operation{
			op(0, w("a"), 0, regOutput{ver: 1}, 10),
			op(0, w("b"), 20, regOutput{ver: 2}, 30),
			op(1, rd, 40, regOutput{val: "a", ver: 1}, 50),
		}, false},
		{"unknown write that happened", []porcupine.Operation{
			op(0, w("a"), 0, regOutput{unknown: true}, never),
			op(1, rd, 20, regOutput{val: "a", ver: 1}, 30),
		}, true},
		{"unknown write that did not happen", []porcupine.Operation{
			op(0, w("a"), 0, regOutput{unknown: true}, never),
			op(1, rd, 20, regOutput{val: initVal, ver: 0}, 30),
			op(1, w("b"), 40, regOutput{ver: 1}, 50),
		}, true},
		{"unknown write seen, then unseen", []porcupine.Operation{
			op(0, w("a"), 0, regOutput{unknown: true}, never),
			op(1, rd, 20, regOutput{val: "a", ver: 1}, 30),
			op(1, rd, 40, regOutput{val: initVal, ver: 0}, 50),
		}, false},
		{"cas on the current version", []porcupine.Operation{
			op(0, cas(0, "a"), 0, regOutput{ok: true, ver: 1}, 10),
			op(1, cas(0, "b"), 20, regOutput{}, 30), // BADVERSION
			op(1, rd, 40, regOutput{val: "a", ver: 1}, 50),
		}, true},
		{"cas applied twice on one version", []porcupine.Operation{
			op(0, cas(0, "a"), 0, regOutput{ok: true, ver: 1}, 10),
			op(1, cas(0, "b"), 20, regOutput{ok: true, ver: 1}, 30),
		}, false},
		{"wrong BADVERSION", []porcupine.Operation{
			op(0, cas(0, "a"), 0, regOutput{}, 10),
		}, false},
		{"version skipped", []porcupine.Operation{
			op(0, w("a"), 0, regOutput{ver: 2}, 10),
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := porcupine.CheckOperations(registerModel, tt.ops); got != tt.ok {
				t.Errorf("linearizable = %v, want %v", got, tt.ok)
			}
		})
	}
}

func TestTreeCheckers(t *testing.T) {
	r := &run{t: t, begin: time.Now(), c: &cluster{nodes: make([]*node, 4)}}
	zn := func(data string, ver int32) znode { return znode{data: data, stat: zk.Stat{Version: ver}} }
	seq := func(n string) string { return root + "/seq/s-" + n }
	rec := newRecorder()
	rec.seqs = []*seqCreate{
		{data: "s-a", out: acked, name: seq("0000000001")},
		{data: "s-b", out: acked, name: seq("0000000002")},
		{data: "s-c", out: failed},
		{data: "s-d", out: unknown},
	}
	good := map[string]znode{
		root: zn("", 0), root + "/seq": zn("", 0),
		seq("0000000001"): zn("s-a", 0), seq("0000000002"): zn("s-b", 0), seq("0000000004"): zn("s-d", 0),
	}
	bad := map[string]znode{
		root: zn("", 0), root + "/seq": zn("", 0),
		seq("0000000001"): zn("s-a", 1), // a version that differs
		// 0000000002 lost
		seq("0000000003"): zn("s-c", 0), // a failed create applied
		seq("0000000004"): zn("s-d", 0),
		seq("0000000005"): zn("s-d", 0), // an unknown create applied twice
	}
	r.checkAgreement(map[int]map[string]znode{1: good, 2: good, 3: bad})
	r.checkSequential(map[int]map[string]znode{1: good, 2: good, 3: bad}, rec)
	all := strings.Join(r.errs, "\n")
	for _, want := range []string{
		"nodes 1 and 3 disagree on 4 znodes",
		seq("0000000002") + ": on node 1",
		"node 3: 3 sequential-create violations",
		"acknowledged " + seq("0000000002") + ` ("s-b") is lost`,
		`holds "s-c", whose create failed`,
		`"s-d" created twice`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("checkers missed %q; they reported:\n%s", want, all)
		}
	}
	for _, e := range r.errs {
		if strings.HasPrefix(e, "node 1:") || strings.HasPrefix(e, "node 2:") || strings.HasPrefix(e, "nodes 1 and 2") {
			t.Errorf("checkers blamed a good node: %s", e)
		}
	}
}

func TestExplainNamesTheStuckKey(t *testing.T) {
	a, b := "/a", "/b"
	ops := []porcupine.Operation{
		op(0, regInput{key: a, kind: opWrite, val: "x"}, 0, regOutput{ver: 1}, 10),
		op(1, regInput{key: a, kind: opRead}, 20, regOutput{val: "x", ver: 1}, 30),
		op(1, regInput{key: b, kind: opWrite, val: "y"}, 40, regOutput{ver: 1}, 50),
		op(0, regInput{key: b, kind: opRead}, 60, regOutput{val: initVal, ver: 0}, 70), // stale
	}
	res, info := porcupine.CheckOperationsVerbose(registerModel, ops, 0)
	if res != porcupine.Illegal {
		t.Fatalf("result %v, want Illegal", res)
	}
	got := explain(info, ops, t.TempDir())
	for _, want := range []string{"/b: 2 operations, longest linearizable prefix 1", `not placed  client 0 [0.000000s, 0.000000s] read /b -> "init" v0`} {
		if !strings.Contains(got, want) {
			t.Errorf("explain lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "/a:") {
		t.Errorf("explain blames /a:\n%s", got)
	}
}

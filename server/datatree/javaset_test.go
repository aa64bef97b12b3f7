package datatree

import (
	"fmt"
	"strings"
	"testing"

	"github.com/zkgo/zkgo/jute"
)

// The expected orders were printed by OpenJDK 17 (the reference server's JVM) running the
// same adds/removes on a HashSet<String>, clone(), the extra adds, then new ArrayList<>(c).
func TestJavaStringSetOrderMatchesOpenJDK17(t *testing.T) {
	many := make([]string, 20)
	for i := range many {
		many[i] = fmt.Sprintf("/r1/e%d", i)
	}
	cases := []struct {
		adds, removes, extra []string
		want                 string
	}{
		{
			adds: []string{"/x/b", "/x/a", "/x/c0000000001", "/x/c0000000000", "/x/zz", "/x/y"},
			want: "/x/y /x/b /x/zz /x/a /x/c0000000001 /x/c0000000000",
		},
		{
			// 20 adds grow the source to 32 buckets; the clone of 17 is pre-sized to 32
			// too, and the re-added /r1/e3 goes to the end of its bucket.
			adds:    many,
			removes: []string{"/r1/e3", "/r1/e17", "/r1/e5"},
			extra:   []string{"/r1/e3", "/r1/q"},
			want:    "/r1/e4 /r1/e7 /r1/e6 /r1/e9 /r1/e8 /r1/e13 /r1/e14 /r1/e11 /r1/e12 /r1/e10 /r1/e19 /r1/q /r1/e1 /r1/e0 /r1/e18 /r1/e15 /r1/e3 /r1/e2 /r1/e16",
		},
		{
			// Non-ASCII: String.hashCode runs over UTF-16 code units, surrogates included.
			adds:  []string{"/a/s-0000000002", "/a/s-0000000010", "/a/é", "/a/\U0001F600"},
			extra: []string{"/a/s-0000000001"},
			want:  "/a/s-0000000002 /a/s-0000000001 /a/é /a/\U0001F600 /a/s-0000000010",
		},
	}
	for i, c := range cases {
		src := NewJavaStringSet()
		for _, p := range c.adds {
			src.Add(p)
		}
		for _, p := range c.removes {
			src.Remove(p)
		}
		cl := src.Clone()
		for _, p := range c.extra {
			cl.Add(p)
		}
		if got := strings.Join(cl.Order(), " "); got != c.want {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, c.want)
		}
	}
}

func TestEphemeralsJavaFollowsCreatesAndDeletes(t *testing.T) {
	tr := New()
	const session = 0x1234
	mk := func(p string, owner int64) {
		if code := tr.createNode(p, nil, nil, owner, -1, 1, 1, nil); code != 0 {
			t.Fatalf("create %s: %v", p, code)
		}
	}
	mk("/x", 0)
	for _, n := range []string{"b", "a", "c0000000001", "c0000000000", "zz", "y", "gone"} {
		mk("/x/"+n, session)
	}
	if code := tr.deleteNode("/x/gone", 2); code != 0 {
		t.Fatal(code)
	}
	got := strings.Join(tr.EphemeralsJava(session).Order(), " ")
	if want := "/x/y /x/b /x/zz /x/a /x/c0000000001 /x/c0000000000"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// Applying a closeSession deletes the ephemerals its txn lists and then the others of the
// session this tree has (DataTree.killSession), so none outlives the session whatever the
// txn lists, or when it lists nothing (zookeeper.closeSessionTxn.enabled=false).
func TestCloseSessionDeletesEveryEphemeral(t *testing.T) {
	for _, txn := range []*jute.CloseSessionTxn{
		{Paths2Delete: []string{"/x/a", "/x/gone"}},
		{Paths2Delete: []string{}},
		{NoBody: true},
	} {
		tr := New()
		const session = 0x1234
		for _, p := range []string{"/x", "/x/a", "/x/b", "/x/c", "/other"} {
			owner := int64(session)
			if p == "/x" {
				owner = 0
			} else if p == "/other" {
				owner = session + 1
			}
			if code := tr.createNode(p, nil, nil, owner, -1, 1, 1, nil); code != 0 {
				t.Fatalf("create %s: %v", p, code)
			}
		}
		tr.ProcessTxn(&jute.TxnHeader{ClientID: session, Zxid: 5, Type: jute.OpCloseSession}, txn)
		var left []string
		for _, p := range []string{"/x/a", "/x/b", "/x/c"} {
			if tr.Get(p) != nil {
				left = append(left, p)
			}
		}
		if len(left) > 0 || len(tr.Ephemerals(session)) > 0 || tr.EphemeralCount() != 1 || tr.Get("/other") == nil {
			t.Errorf("%+v: left %v, ephemerals %v, %d in all", txn, left, tr.Ephemerals(session), tr.EphemeralCount())
		}
		if x := tr.Get("/x"); x == nil || x.Stat.Pzxid != 5 || x.NumChildren() != 0 {
			t.Errorf("%+v: /x after the close: %+v", txn, x)
		}
	}
}

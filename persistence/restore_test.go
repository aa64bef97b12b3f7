package persistence

import (
	"archive/tar"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/server/datatree"
)

// untar extracts a test archive into dir.
func untar(t *testing.T, archive, dir string) { untarF(t, archive, dir) }

func untarF(t testing.TB, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, h.Name)
		if h.Typeflag == tar.TypeDir {
			os.MkdirAll(p, 0o755)
			continue
		}
		b, _ := io.ReadAll(tr)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type expectedNode struct {
	Path string           `json:"path"`
	Data *string          `json:"data"`
	Stat map[string]any   `json:"stat"`
	ACL  []map[string]any `json:"acl"`
}

func walk(tr *datatree.Tree, path string, out *[]string) {
	n := tr.Get(path)
	var st jute.Stat
	tr.Stat(n, &st)
	acl := tr.ACL(n)
	*out = append(*out, fmt.Sprintf("%s data=%x stat=%+v acl=%v", path, n.Data, st, acl))
	for _, c := range tr.Children(n) {
		walk(tr, datatree.Join(path, c), out)
	}
}

// An Apache ZooKeeper 3.8 data dir is served with the same tree it serves (expected-tree.json
// was dumped from Apache ZooKeeper with kazoo after loading the same files).
func TestRestoreApacheDataDir(t *testing.T) {
	dir := t.TempDir()
	untar(t, "testdata/standalone-datadir.tar.gz", dir)
	vdir := filepath.Join(dir, "standalone", VersionDir)
	res, err := Restore(vdir, vdir, RestoreOptions{ExtendedTypes: datatree.OwnersExtended, Log: zerolog.Nop()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.SnapZxid != 0x22 || res.LastZxid != 0x2a {
		t.Fatalf("snapshot 0x%x last 0x%x", res.SnapZxid, res.LastZxid)
	}
	// Apache's tree digests (snapshot and every logged txn) agree with ours.
	if res.DigestsChecked < 5 || res.DigestMismatches != 0 {
		t.Fatalf("digests: %d checked, %d mismatched", res.DigestsChecked, res.DigestMismatches)
	}
	raw, err := os.ReadFile("testdata/expected-tree.json")
	if err != nil {
		t.Fatal(err)
	}
	var want []expectedNode
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	var got []string
	walk(res.Tree, "/", &got)
	var wantLines []string
	for _, n := range want {
		data := []byte{}
		if n.Data != nil {
			data, _ = hex.DecodeString(*n.Data)
		}
		num := func(k string) int64 {
			switch v := n.Stat[k].(type) {
			case float64:
				return int64(v)
			case string:
				var x int64
				fmt.Sscanf(v, "0x%x", &x)
				return x
			}
			return 0
		}
		st := jute.Stat{Czxid: num("czxid"), Mzxid: num("mzxid"), Ctime: num("ctime"), Mtime: num("mtime"),
			Version: int32(num("version")), Cversion: int32(num("cversion")), Aversion: int32(num("aversion")),
			EphemeralOwner: num("ephemeralOwner"), DataLength: int32(num("dataLength")), NumChildren: int32(num("numChildren")), Pzxid: num("pzxid")}
		var acl []jute.ACL
		for _, a := range n.ACL {
			acl = append(acl, jute.ACL{Perms: int32(a["perms"].(float64)), Id: jute.Id{Scheme: a["scheme"].(string), ID: a["id"].(string)}})
		}
		wantLines = append(wantLines, fmt.Sprintf("%s data=%x stat=%+v acl=%v", n.Path, data, st, acl))
	}
	sort.Strings(got)
	sort.Strings(wantLines)
	if len(got) != len(wantLines) {
		t.Fatalf("%d nodes, want %d:\n%v", len(got), len(wantLines), got)
	}
	for i := range got {
		if got[i] != wantLines[i] {
			t.Errorf("node differs:\n got  %s\n want %s", got[i], wantLines[i])
		}
	}
	// The live session of /v/keeper survives, the closed ones do not.
	if _, ok := res.Sessions[0x10000325a290004]; !ok {
		t.Errorf("session of /v/keeper not restored: %v", res.Sessions)
	}
}

// Replaying all of Apache's log.1 onto its empty snapshot.0 gives, after every txn, the tree
// digest Apache logged with it.
func TestDigestsMatchApacheForEveryTxn(t *testing.T) {
	dir := t.TempDir()
	untar(t, "testdata/standalone-datadir.tar.gz", dir)
	vdir := filepath.Join(dir, "standalone", VersionDir)
	for _, f := range []string{"snapshot.22", "log.23"} {
		os.Remove(filepath.Join(vdir, f))
	}
	res, err := Restore(vdir, vdir, RestoreOptions{ExtendedTypes: datatree.OwnersExtended, Log: zerolog.Nop()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.DigestsChecked < 30 || res.DigestMismatches != 0 {
		t.Fatalf("digests: %d checked, %d mismatched", res.DigestsChecked, res.DigestMismatches)
	}
}

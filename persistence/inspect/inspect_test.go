package inspect

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// untar extracts ../testdata/standalone-datadir.tar.gz (Apache ZooKeeper 3.8.0 files) and
// returns the version-2 directory.
func untar(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open("../testdata/standalone-datadir.tar.gz")
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
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		p := filepath.Join(dir, h.Name)
		b, _ := io.ReadAll(tr)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "standalone", "version-2")
}

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return "line " + itoa(i+1) + ":\n got  " + la[i] + "\n want " + lb[i]
		}
	}
	return "length differs: " + itoa(len(la)) + " vs " + itoa(len(lb)) + " lines"
}

func itoa(i int) string { return strconv.Itoa(i) }

// The output equals TxnLogToolkit -d on the 3.8.0 vector logs (TZ=UTC as they were made).
func TestLogMatchesTxnLogToolkit(t *testing.T) {
	t.Setenv("TZ", "UTC")
	dir := untar(t)
	for _, f := range []string{"log.1", "log.23"} {
		got, stderr, code := run(t, "log", "-d", filepath.Join(dir, f))
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", f, code, stderr)
		}
		if want := golden(t, f+".TxnLogToolkit.txt"); got != want {
			t.Errorf("%s: %s", f, firstDiff(got, want))
		}
	}
}

// The output equals SnapshotFormatter (plain, -d and -json) on the 3.8.0 vector snapshots,
// including HashSet/HashMap iteration order of children and sessions.
func TestSnapshotMatchesSnapshotFormatter(t *testing.T) {
	t.Setenv("TZ", "UTC")
	dir := untar(t)
	for _, f := range []string{"snapshot.0", "snapshot.22"} {
		p := filepath.Join(dir, f)
		for _, c := range []struct {
			args   []string
			golden string
		}{
			{[]string{"snapshot", p}, f + ".SnapshotFormatter.nodata.txt"},
			{[]string{"snapshot", "-d", p}, f + ".SnapshotFormatter.txt"},
			{[]string{"snapshot", "-json", p}, f + ".SnapshotFormatter.json"},
		} {
			got, stderr, code := run(t, c.args...)
			if code != 0 {
				t.Fatalf("%v: exit %d: %s", c.args, code, stderr)
			}
			want := golden(t, c.golden)
			if c.args[1] == "-json" {
				got, want = stripTS(got), stripTS(want)
			}
			if got != want {
				t.Errorf("%v: %s", c.args[:len(c.args)-1], firstDiff(got, want))
			}
		}
	}
	if _, _, code := run(t, "snapshot", "-d", "-json", filepath.Join(dir, "snapshot.0")); code == 0 {
		t.Error("-d with -json accepted")
	}
}

func stripTS(s string) string {
	i := strings.Index(s, `"timestamp":`)
	j := i + len(`"timestamp":`)
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return s[:i] + s[j:]
}

func TestCheckVectorDataDir(t *testing.T) {
	dir := untar(t)
	out, stderr, code := run(t, "check", filepath.Dir(dir))
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"snapshots:    2 (2 valid)", "logs:         2, 42 txns, zxid 0x1..0x2a", "snapshot 0x22 + 8 txns replayed -> last zxid 0x2a", "OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func corrupt(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x55
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A flipped byte in a log record or a snapshot is reported with file and offset, and a torn
// final record is only a warning, without the file being modified.
func TestCheckFindsProblems(t *testing.T) {
	t.Run("log checksum", func(t *testing.T) {
		dir := untar(t)
		// log.1's first record starts at 16; its txn bytes at 28.
		corrupt(t, filepath.Join(dir, "log.1"), 40)
		out, _, code := run(t, "check", filepath.Dir(dir))
		if code == 0 || !strings.Contains(out, "ERROR "+filepath.Join(dir, "log.1")+":16: CRC check failed") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("snapshot seal", func(t *testing.T) {
		dir := untar(t)
		corrupt(t, filepath.Join(dir, "snapshot.22"), 200)
		out, _, code := run(t, "check", filepath.Dir(dir))
		if code == 0 || !strings.Contains(out, filepath.Join(dir, "snapshot.22")) || !strings.Contains(out, "snapshot checksum mismatch") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("logs without snapshot", func(t *testing.T) {
		dir := untar(t)
		// Only log.23 and snapshot.0 left: zxids 0x1..0x22 are missing, restore must fail.
		if err := os.Remove(filepath.Join(dir, "log.1")); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, "snapshot.22")); err != nil {
			t.Fatal(err)
		}
		out, _, code := run(t, "check", filepath.Dir(dir))
		if code == 0 || !strings.Contains(out, "gap") {
			t.Fatalf("a data dir that cannot restore passed: exit %d:\n%s", code, out)
		}
	})
	t.Run("torn tail", func(t *testing.T) {
		dir := untar(t)
		p := filepath.Join(dir, "log.23")
		b, _ := os.ReadFile(p)
		os.WriteFile(p, b[:len(b)-3], 0o644)
		out, _, code := run(t, "check", filepath.Dir(dir))
		if code != 0 || !strings.Contains(out, "WARNING "+p) {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if b2, _ := os.ReadFile(p); len(b2) != len(b)-3 {
			t.Fatal("check modified the log")
		}
	})
}

func TestPurge(t *testing.T) {
	dir := t.TempDir()
	v := filepath.Join(dir, "version-2")
	os.MkdirAll(v, 0o755)
	for _, n := range []string{"snapshot.0", "snapshot.10", "snapshot.20", "snapshot.30", "snapshot.40", "log.1", "log.11", "log.25", "log.35"} {
		os.WriteFile(filepath.Join(v, n), []byte("x"), 0o644)
	}
	if _, _, code := run(t, "purge", "-n", "2", dir); code == 0 {
		t.Fatal("count 2 accepted")
	}
	out, stderr, code := run(t, "purge", "-n", "3", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var left []string
	ents, _ := os.ReadDir(v)
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if got := strings.Join(left, " "); got != "log.11 log.25 log.35 snapshot.20 snapshot.30 snapshot.40" {
		t.Fatalf("left %s; output:\n%s", got, out)
	}
}

func TestJavaString(t *testing.T) {
	for in, want := range map[string]string{
		"abc":              "abc",
		"\x00\x01":         "\x00\x01",
		"\xff\xff":         "\ufffd\ufffd",
		"\xe2\x82A":        "\ufffdA", // one U+FFFD for the maximal subpart
		"\xf0\x9f\x98\x80": "\U0001F600",
		"\xc0\x80":         "\ufffd\ufffd",
		"\xed\xa0\x80":     "\ufffd\ufffd\ufffd",
	} {
		if got := javaString([]byte(in)); got != want {
			t.Errorf("javaString(%q) = %q, want %q", in, got, want)
		}
	}
	if javaHash("a") != 97 || javaHash("ab") != 97*31+98 {
		t.Error("javaHash")
	}
	if hex016(0) != "0x00000000000000" || hex016(-72057594037927936) != "0xff00000000000000" {
		t.Error("hex016")
	}
}

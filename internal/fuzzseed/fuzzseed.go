// Package fuzzseed keeps a package's fuzz seed corpus (testdata/fuzz/<Target>/vector-NNN)
// in step with the captured vectors it is made from.
package fuzzseed

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// File renders fuzz arguments in Go's corpus file format ("go test fuzz v1"). Arguments are
// []byte or int32.
func File(args ...any) string {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case int32:
			fmt.Fprintf(&b, "int32(%d)\n", v)
		default:
			panic(fmt.Sprintf("fuzzseed.File: %T", a))
		}
	}
	return b.String()
}

// Sync checks that testdata/fuzz/<target>/vector-NNN hold exactly the files of corpus (by
// target, in order), or rewrites them when write is set. regenerate is the command that
// rewrites them, named in the errors.
func Sync(t *testing.T, corpus map[string][]string, write bool, regenerate string) {
	t.Helper()
	for name, files := range corpus {
		dir := filepath.Join("testdata", "fuzz", name)
		if write {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		want := map[string]bool{}
		for i, content := range files {
			fn := filepath.Join(dir, fmt.Sprintf("vector-%03d", i))
			want[fn] = true
			if write {
				if err := os.WriteFile(fn, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(fn)
			if err != nil || string(got) != content {
				t.Errorf("%s is stale (run %s)", fn, regenerate)
			}
		}
		matches, _ := filepath.Glob(filepath.Join(dir, "vector-*"))
		for _, m := range matches {
			if !want[m] {
				if write {
					os.Remove(m)
				} else {
					t.Errorf("%s is not made from the vectors", m)
				}
			}
		}
		t.Logf("%s: %d seeds", name, len(files))
	}
}

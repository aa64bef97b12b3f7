package datatree

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrInvalidPath is returned by ValidatePath; callers map it to BADARGUMENTS.
var ErrInvalidPath = errors.New("invalid path")

// ValidatePath applies ZooKeeper's PathUtils.validatePath rules. Characters are checked as
// UTF-16 code units, as Java does, so every supplementary character (a surrogate pair) is
// rejected too.
func ValidatePath(path string) error {
	if len(path) == 0 || path[0] != '/' {
		return ErrInvalidPath
	}
	if len(path) == 1 {
		return nil
	}
	if path[len(path)-1] == '/' {
		return ErrInvalidPath
	}
	if !utf8.ValidString(path) {
		return ErrInvalidPath
	}
	last := 0 // start of the current component
	for i, r := range path {
		if i == 0 {
			continue
		}
		if r == '/' {
			comp := path[last+1 : i]
			if comp == "" || comp == "." || comp == ".." {
				return ErrInvalidPath
			}
			last = i
			continue
		}
		if invalidRune(r) {
			return ErrInvalidPath
		}
	}
	comp := path[last+1:]
	if comp == "." || comp == ".." {
		return ErrInvalidPath
	}
	return nil
}

func invalidRune(r rune) bool {
	switch {
	case r == 0:
		return true
	case r > 0 && r < 0x1f+1:
		return true
	case r >= 0x7f && r <= 0x9f:
		return true
	case r >= 0xd800 && r <= 0xf8ff:
		return true
	case r >= 0xfff0 && r <= 0xffff:
		return true
	case r > 0xffff:
		// Encoded as a surrogate pair in UTF-16: both halves fall in d800-dfff.
		r1, _ := utf16.EncodeRune(r)
		return r1 >= 0xd800
	}
	return false
}

// Split returns the parent path and the last component of a valid path ("/" for top level).
func Split(path string) (parent, name string) {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return "/", path[1:]
	}
	return path[:i], path[i+1:]
}

// Join appends a child name to a parent path.
func Join(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

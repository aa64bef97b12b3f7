package client

import (
	"strconv"
	"unicode/utf16"
)

// ValidatePath checks a znode path as Java's PathUtils.validatePath does, with the same
// messages; positions in them count UTF-16 code units, as Java's do. A sequential node's
// path may end with "/" (the server appends the counter), so it is checked with "1" added.
func ValidatePath(path string, sequential bool) error {
	if sequential {
		path += "1"
	}
	if len(path) == 0 {
		return &PathError{"Path length must be > 0"}
	}
	if path[0] != '/' {
		return &PathError{"Path must start with / character"}
	}
	if len(path) == 1 {
		return nil
	}
	if path[len(path)-1] == '/' {
		return &PathError{"Path must not end with / character"}
	}
	chars := utf16.Encode([]rune(path))
	reason := ""
	lastc := uint16('/')
	for i := 1; i < len(chars); lastc, i = chars[i], i+1 {
		c := chars[i]
		switch {
		case c == 0:
			reason = "null character not allowed @" + strconv.Itoa(i)
		case c == '/' && lastc == '/':
			reason = "empty node name specified @" + strconv.Itoa(i)
		case c == '.' && lastc == '.':
			if chars[i-2] == '/' && (i+1 == len(chars) || chars[i+1] == '/') {
				reason = "relative paths not allowed @" + strconv.Itoa(i)
			}
		case c == '.':
			if chars[i-1] == '/' && (i+1 == len(chars) || chars[i+1] == '/') {
				reason = "relative paths not allowed @" + strconv.Itoa(i)
			}
		case c > 0 && c <= 0x1f, c >= 0x7f && c <= 0x9f, c >= 0xd800 && c <= 0xf8ff, c >= 0xfff0:
			reason = "invalid character @" + strconv.Itoa(i)
		}
		if reason != "" {
			break
		}
	}
	if reason != "" {
		return &PathError{"Invalid path string \"" + path + "\" caused by " + reason}
	}
	return nil
}

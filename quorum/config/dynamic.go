package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/zkgo/zkgo/persistence"
)

// WriteDynamicConfig persists a committed membership: members is the QuorumVerifier string
// (server.N=... lines, one per line, as config.VerifierString produces, optionally with a
// trailing version=<hex> line) and version its config version.
//
// It does what QuorumPeer.setQuorumVerifier(qv, true) does with
// QuorumPeerConfig.writeDynamicConfig and editStaticConfig:
//
//   - <staticPath>.dynamic.<version in hex> gets the server/group/weight
//     lines as "key=value", sorted as strings, joined by "\n" with no final
//     newline. The version is only in the name: Parse rejects a dynamic file
//     with a version line.
//   - The static file loses its server.*, group*, weight*, dynamicConfigFile*
//     and peerType* lines and gets "dynamicConfigFile=<canonical absolute
//     path of the dynamic file>" at the end. clientPort and
//     clientPortAddress go too when this server's line (myid in dataDir)
//     carries a ";client" address, since the static value would otherwise
//     conflict with it.
//   - Earlier dynamic files are kept, as ZooKeeper keeps them for backup.
//
// dynamicPath is the path written into dynamicConfigFile, i.e. what Parse
// puts in Config.DynamicConfigFile.
//
// Deliberate differences from Java:
//   - The static file is edited line by line: comments, blank lines, order
//     and spelling of the kept entries stay. Java reloads it as Properties
//     and writes the entries back in hash order without comments.
//   - Java drops every key starting with "clientPort", which also loses
//     clientPortListenBacklog; only clientPort and clientPortAddress go here.
//   - Both files are written through a temp file, fsync, rename and a fsync
//     of the directory (Java does not sync the directory), and keep the
//     static file's permissions.
//   - A membership the parser could not read back (no server line, a
//     malformed server line, an unknown key, a version line that disagrees
//     with version) is refused before anything is written.
func WriteDynamicConfig(staticPath string, members string, version int64) (dynamicPath string, err error) {
	if version < 0 {
		// Long.toHexString would name a file Long.parseLong cannot read back.
		return "", &Error{File: staticPath, Msg: fmt.Sprintf("negative config version %d", version)}
	}
	// QuorumPeer.makeDynamicConfigFilename
	name := staticPath + ".dynamic." + strconv.FormatInt(version, 16)
	body, servers, err := dynamicFileBody(members, version, name)
	if err != nil {
		return "", err
	}
	static, err := os.ReadFile(staticPath)
	if err != nil {
		return "", &Error{File: staticPath, Msg: errText(err)}
	}
	st, err := os.Stat(staticPath)
	if err != nil {
		return "", &Error{File: staticPath, Msg: errText(err)}
	}
	erase, err := eraseClientPort(static, staticPath, servers)
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(name, body, st.Mode().Perm()); err != nil {
		return "", err
	}
	// editStaticConfig: PathUtils.normalizeFileSystemPath(getCanonicalPath()).
	abs, err := filepath.Abs(name)
	if err == nil {
		dynamicPath, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return "", &Error{File: name, Msg: errText(err)}
	}
	edited, err := editStatic(static, dynamicPath, erase)
	if err != nil {
		err.(*Error).File = staticPath
		return "", err
	}
	if err := writeFileAtomic(staticPath, edited, st.Mode().Perm()); err != nil {
		return "", err
	}
	return dynamicPath, nil
}

// dynamicFileBody is the write of QuorumPeerConfig.writeDynamicConfig with
// needKeepVersion false; it also checks what loadDynamic would reject.
func dynamicFileBody(members string, version int64, name string) ([]byte, map[int64]*ServerSpec, error) {
	props, err := loadProperties([]byte(members))
	if err != nil {
		err.(*Error).File = name
		return nil, nil, err
	}
	bad := func(pr property, key, format string, args ...any) error {
		return &Error{File: name, Line: pr.line, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	servers := map[int64]*ServerSpec{}
	var lines []string
	for _, pr := range props {
		key, value := javaTrim(pr.key), javaTrim(pr.value)
		switch {
		case strings.HasPrefix(key, "version"): // Java skips every "version*" key
			if key == "version" {
				if v, err := strconv.ParseInt(value, 16, 64); err != nil || v != version {
					return nil, nil, bad(pr, key, "version %s of the members is not %x", value, version)
				}
			}
			continue
		case strings.HasPrefix(key, "server."):
			id, err := strconv.ParseInt(key[len("server."):], 10, 64)
			if err != nil {
				return nil, nil, bad(pr, key, "invalid server id %q", key[len("server."):])
			}
			// Any number of addresses: the quorum has accepted them already.
			s, err := ParseServerSpec(id, value, true)
			if err != nil {
				return nil, nil, bad(pr, key, "%s", err.Error())
			}
			servers[id] = s
		case strings.HasPrefix(key, "group") || strings.HasPrefix(key, "weight"):
		default:
			return nil, nil, bad(pr, key, "unrecognised parameter")
		}
		lines = append(lines, key+"="+value)
	}
	if len(servers) == 0 {
		return nil, nil, &Error{File: name, Msg: "membership has no server lines"}
	}
	sort.Strings(lines) // Collections.sort of the "key=value" strings
	return []byte(strings.Join(lines, "\n")), servers, nil
}

// eraseClientPort is QuorumPeer.needEraseClientInfoFromStaticConfig: this
// server (dataDir/myid of the static file) has a client address in the new
// membership.
func eraseClientPort(static []byte, staticPath string, servers map[int64]*ServerSpec) (bool, error) {
	props, err := loadProperties(static)
	if err != nil {
		err.(*Error).File = staticPath
		return false, err
	}
	c := &Config{MyID: UnsetServerID}
	for _, pr := range props {
		if javaTrim(pr.key) == "dataDir" {
			c.DataDir = javaTrim(pr.value)
		}
	}
	if c.DataDir == "" {
		return false, nil
	}
	if err := c.readMyID(); err != nil {
		return false, err
	}
	s, ok := servers[c.MyID]
	return ok && (s.ClientAddr != "" || s.ClientPort != 0), nil
}

// staticDropped are the keys editStaticConfig does not write back.
func staticDropped(key string, eraseClientPort bool) bool {
	return isMembershipKey(key) ||
		strings.HasPrefix(key, "dynamicConfigFile") ||
		strings.HasPrefix(key, "peerType") ||
		(eraseClientPort && (key == "clientPort" || key == "clientPortAddress"))
}

// editStatic removes the natural lines of every dropped entry (all of its
// continuation lines) from data and appends the dynamicConfigFile pointer.
func editStatic(data []byte, dynamicPath string, eraseClientPort bool) ([]byte, error) {
	drop := map[int]bool{}
	for _, ll := range logicalLines(data) {
		key, _, err := splitKeyValue(ll.text)
		if err != nil {
			return nil, &Error{Line: ll.line, Msg: err.Error()}
		}
		if staticDropped(javaTrim(key), eraseClientPort) {
			for n := ll.line; n <= ll.end; n++ {
				drop[n] = true
			}
		}
	}
	var out []byte
	for i, line := range naturalLines(data) {
		if !drop[i+1] {
			out = append(out, line...)
		}
	}
	if len(out) > 0 && out[len(out)-1] != '\n' && out[len(out)-1] != '\r' {
		out = append(out, '\n')
	}
	out = append(out, "dynamicConfigFile="+dynamicPath+"\n"...)

	// Read it back as Parse will: a kept line continued at the end of the
	// file, or an odd path, must not change what the pointer says.
	props, err := loadProperties(out)
	if err != nil {
		return nil, err
	}
	found := false
	for _, pr := range props {
		key := javaTrim(pr.key)
		if isMembershipKey(key) {
			return nil, &Error{Line: pr.line, Key: key, Msg: "still in the edited static file"}
		}
		if key == "dynamicConfigFile" {
			found = javaTrim(pr.value) == dynamicPath
		}
	}
	if !found {
		return nil, &Error{Key: "dynamicConfigFile", Msg: fmt.Sprintf("edited static file does not read back as %q", dynamicPath)}
	}
	return out, nil
}

// naturalLines splits data after each "\n", "\r\n" or lone "\r", keeping
// the terminators; line i+1 of logicalLines is element i.
func naturalLines(data []byte) [][]byte {
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			lines = append(lines, data)
			break
		}
		n := i + 1
		if data[i] == '\r' && n < len(data) && data[n] == '\n' {
			n++
		}
		lines = append(lines, data[:n])
		data = data[n:]
	}
	return lines
}

// writeFileAtomic is persistence.WriteFileAtomic with the error in this package's form.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := persistence.WriteFileAtomic(path, data, perm); err != nil {
		return &Error{File: path, Msg: errText(err)}
	}
	return nil
}

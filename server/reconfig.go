package server

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/server/datatree"
)

// membership is a parsed /zookeeper/config: server lines by id and the config version.
type membership struct {
	servers map[int64]*config.ServerSpec
	version int64
}

func parseMembership(data []byte) (*membership, error) {
	m := &membership{servers: make(map[int64]*config.ServerSpec)}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("bad config line %q", line)
		}
		if k == "version" {
			ver, err := strconv.ParseInt(v, 16, 64)
			if err != nil {
				return nil, fmt.Errorf("bad version %q", v)
			}
			m.version = ver
			continue
		}
		spec, err := parseServerLine(k, v)
		if err != nil {
			return nil, err
		}
		m.servers[spec.ID] = spec
	}
	return m, nil
}

// parseServerLine parses "server.N" = "host:port:port[:type][;client]".
func parseServerLine(key, value string) (*config.ServerSpec, error) {
	idText, ok := strings.CutPrefix(key, "server.")
	if !ok {
		return nil, fmt.Errorf("%q is not a server line", key)
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id < 0 {
		return nil, fmt.Errorf("bad server id %q", idText)
	}
	return config.ParseServerSpec(id, value, false)
}

func (m *membership) voters() []int64 {
	var ids []int64
	for id, s := range m.servers {
		if s.Type == config.Participant {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// String is QuorumMaj.toString with the given version.
func (m *membership) String(version int64) string { return config.VerifierString(m.servers, version) }

// prepReconfig turns a reconfig request into a txn that sets /zookeeper/config to the new
// membership (PrepRequestProcessor's reconfig case), checking in its order: only a leader
// reconfigures; -v (curConfigId) must name the current version; the incremental (joining,
// leaving) or bulk (new members) arguments must parse; the request needs WRITE on
// /zookeeper/config (super, or skipACL).
//
// Members that do not vote (observers) can join and leave, and client addresses change;
// a change of the voting members is refused with BADARGUMENTS, since this server cannot
// yet move its quorum to a new set of voters.
func (s *Server) prepReconfig(r *request, req *jute.ReconfigRequest) (jute.Record, jute.Code) {
	if s.ens == nil || s.role() != roleLeader {
		return nil, jute.Unimplemented // standalone servers cannot reconfigure
	}
	if c := s.checkSession(r); c != jute.OK {
		return nil, c
	}
	node := s.record(datatree.ConfigPath)
	if node == nil {
		return nil, jute.NoNode
	}
	cur, err := parseMembership(node.data)
	if err != nil {
		s.log.Error().Err(err).Msg("reconfig: cannot parse the current configuration")
		return nil, jute.BadArguments
	}
	if req.CurConfigID != -1 && req.CurConfigID != cur.version {
		return nil, jute.BadVersion
	}
	next := &membership{servers: make(map[int64]*config.ServerSpec)}
	if req.NewMembers != "" {
		for _, item := range splitList(req.NewMembers) {
			k, v, ok := strings.Cut(item, "=")
			if !ok {
				return nil, jute.BadArguments
			}
			spec, err := parseServerLine(strings.TrimSpace(k), strings.TrimSpace(v))
			if err != nil {
				return nil, jute.BadArguments
			}
			next.servers[spec.ID] = spec
		}
	} else {
		for id, spec := range cur.servers {
			next.servers[id] = spec
		}
		for _, item := range splitList(req.LeavingServers) {
			id, err := strconv.ParseInt(item, 10, 64)
			if err != nil {
				return nil, jute.BadArguments
			}
			delete(next.servers, id)
		}
		for _, item := range splitList(req.JoiningServers) {
			k, v, ok := strings.Cut(item, "=")
			if !ok {
				return nil, jute.BadArguments
			}
			spec, err := parseServerLine(strings.TrimSpace(k), strings.TrimSpace(v))
			if err != nil {
				return nil, jute.BadArguments
			}
			next.servers[spec.ID] = spec
		}
	}
	if fmt.Sprint(next.voters()) != fmt.Sprint(cur.voters()) {
		s.log.Warn().Msg("reconfig: changing the voting members is not supported by this server; refused")
		return nil, jute.BadArguments
	}
	// The ACL is checked last, as PrepRequestProcessor does: a bad version or a bad
	// argument is reported to anyone.
	if c := s.checkACL(node.acl, jute.PermWrite, r.auth); c != jute.OK {
		return nil, c
	}
	data := []byte(next.String(r.hdr.Zxid))
	node.data = data
	node.stat.Version = -1
	node.stat.Mzxid = r.hdr.Zxid
	node.zxid = r.hdr.Zxid
	s.addChange(node)
	return &jute.SetDataTxn{Path: datatree.ConfigPath, Data: data, Version: -1}, jute.OK
}

// splitList splits a comma-separated reconfig argument, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

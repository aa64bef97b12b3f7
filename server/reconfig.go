package server

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/server/datatree"
	"github.com/zkgo/zkgo/zab"
)

// membership is a parsed /zookeeper/config: server lines by id and the config version.
type membership struct {
	servers map[int64]*config.ServerSpec
	version int64
}

func parseMembership(data []byte) (*membership, error) {
	servers, version, err := config.ParseVerifier(data)
	if err != nil {
		return nil, err
	}
	return &membership{servers: servers, version: version}, nil
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
// reconfigures; no other reconfig may be in progress; -v (curConfigId) must name the
// current version; the incremental (joining, leaving) or bulk (new members) arguments must
// parse and leave voters (two with standaloneEnabled); a quorum of the new voters must be
// synchronised with this leader (NEWCONFIGNOQUORUM); the request needs WRITE on
// /zookeeper/config (super, or skipACL). The broadcast then commits it with a quorum of the
// old and of the new voters (package zab).
func (s *Server) prepReconfig(r *request, req *jute.ReconfigRequest) (jute.Record, jute.Code) {
	if s.ens == nil || s.role() != roleLeader {
		return nil, jute.Unimplemented // standalone servers cannot reconfigure
	}
	if c := s.checkSession(r); c != jute.OK {
		return nil, c
	}
	if s.changing(datatree.ConfigPath) {
		return nil, jute.ReconfigInProgress // prepared, not committed yet
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
		if !addServerLines(next.servers, req.NewMembers) {
			return nil, jute.BadArguments
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
		if !addServerLines(next.servers, req.JoiningServers) {
			return nil, jute.BadArguments
		}
	}
	if nv := len(next.voters()); nv < 1 || (s.cfg.StandaloneEnabled && nv < 2) {
		return nil, jute.BadArguments
	}
	switch err := s.ens.CheckReconfig(next.servers); {
	case err == nil:
	case errors.Is(err, zab.ErrReconfigInProgress):
		return nil, jute.ReconfigInProgress
	default:
		// No synchronised quorum of the new voters (or no longer leading).
		return nil, jute.NewConfigNoQuorum
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

// addServerLines parses a comma-separated list of server.N=... lines into servers, a
// line for an id already there replacing it; false if one does not parse.
func addServerLines(servers map[int64]*config.ServerSpec, list string) bool {
	for _, item := range splitList(list) {
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			return false
		}
		spec, err := config.ParseServerLine(strings.TrimSpace(k), strings.TrimSpace(v))
		if err != nil {
			return false
		}
		servers[spec.ID] = spec
	}
	return true
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

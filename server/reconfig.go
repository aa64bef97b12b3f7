package server

import (
	"errors"
	"strconv"
	"strings"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/server/datatree"
	"github.com/zkgo/zkgo/zab"
)

// voters counts the participants of a configuration.
func voters(v *config.Verifier) int {
	n := 0
	for _, s := range v.Servers {
		if s.Type == config.Participant {
			n++
		}
	}
	return n
}

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
	cur, err := config.ParseVerifier(node.data)
	if err != nil {
		s.log.Error().Err(err).Msg("reconfig: cannot parse the current configuration")
		return nil, jute.BadArguments
	}
	if req.CurConfigID != -1 && req.CurConfigID != cur.Version {
		return nil, jute.BadVersion
	}
	next := &config.Verifier{Servers: make(map[int64]*config.ServerSpec)}
	if req.NewMembers != "" {
		// Bulk: server, group and weight lines, as QuorumPeerConfig.parseDynamicConfig
		// reads them (a hierarchical quorum if any group or weight line).
		next, err = config.ParseVerifier([]byte(strings.Join(splitList(req.NewMembers), "\n")))
		if err != nil {
			return nil, jute.BadArguments
		}
	} else {
		if cur.Hierarchical() {
			// "Incremental reconfiguration requested but last configuration seen has a
			// non-majority quorum system"
			return nil, jute.BadArguments
		}
		for id, spec := range cur.Servers {
			next.Servers[id] = spec
		}
		for _, item := range splitList(req.LeavingServers) {
			id, err := strconv.ParseInt(item, 10, 64)
			if err != nil {
				return nil, jute.BadArguments
			}
			delete(next.Servers, id)
		}
		if !addServerLines(next.Servers, req.JoiningServers) {
			return nil, jute.BadArguments
		}
	}
	if nv := voters(next); nv < 1 || (s.cfg.StandaloneEnabled && nv < 2) {
		return nil, jute.BadArguments
	}
	switch err := s.ens.CheckReconfig(next); {
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

package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/zkgo/zkgo/client"
)

// Quotas live in the tree, as zkCli's SetQuotaCommand/ListQuotaCommand/DelQuotaCommand keep
// them: /zookeeper/quota/<path>/zookeeper_limits holds the limits and zookeeper_stats the
// usage (maintained by the server), both as StatsTrack text.
const (
	procZookeeper  = "/zookeeper"
	quotaZookeeper = "/zookeeper/quota"
	limitNode      = "zookeeper_limits"
	statNode       = "zookeeper_stats"
)

func quotaPath(p string) string { return quotaZookeeper + p }
func limitPath(p string) string { return quotaZookeeper + p + "/" + limitNode }
func statPath(p string) string  { return quotaZookeeper + p + "/" + statNode }

// illegalArg is an IllegalArgumentException raised while setting a quota.
type illegalArg struct{ msg string }

func (e *illegalArg) Error() string { return e.msg }

func cmdSetQuota(s *shell, args []string) error {
	cl, err := parseArgs(setQuotaOpts, args)
	if err != nil {
		return err
	}
	if len(cl.args) < 2 {
		return malformed(usageOf("setquota"))
	}
	path := cl.args[1]
	if strings.HasPrefix(path, quotaZookeeper) {
		s.err.println("cannot set a quota under the path: " + quotaZookeeper)
		return nil
	}
	quota := statsTrack{"count": -1, "bytes": -1, "countHardLimit": -1, "byteHardLimit": -1}
	for _, o := range []struct {
		opt, key string
		isInt    bool
	}{{"n", "count", true}, {"b", "bytes", false}, {"N", "countHardLimit", true}, {"B", "byteHardLimit", false}} {
		if !cl.has(o.opt) {
			continue
		}
		bits := 64
		if o.isInt {
			bits = 32
		}
		v, err := strconv.ParseInt(cl.value(o.opt), 10, bits)
		if err != nil {
			s.err.println("NumberFormatException happens when parsing the option value")
			return nil
		}
		if o.isInt && v <= 0 {
			s.err.println("the num quota must be greater than zero")
			return nil
		}
		if !o.isInt && v < 0 {
			s.err.println("the bytes quota must be greater than or equal to zero")
			return nil
		}
		quota[o.key] = v
	}
	if err := createQuota(s, s.conn(), path, quota); err != nil {
		var ia *illegalArg
		if errors.As(err, &ia) {
			return malformed(ia.msg)
		}
		return wrap(err)
	}
	return nil
}

// createQuota is SetQuotaCommand.createQuota.
func createQuota(s *shell, zk *client.Conn, path string, quota statsTrack) error {
	st, err := zk.Exists(path, nil)
	if err != nil {
		return err
	}
	if st == nil {
		return &illegalArg{path + " does not exist."}
	}
	if err := checkIfChildQuota(zk, path); err != nil {
		return err
	}
	if err := checkIfParentQuota(zk, path); err != nil {
		return err
	}
	qp := quotaZookeeper
	if st, err := zk.Exists(qp, nil); err != nil {
		return err
	} else if st == nil {
		for _, p := range []string{procZookeeper, quotaZookeeper} {
			if _, err := zk.Create(p, nil, client.OpenACLUnsafe, client.ModePersistent); err != nil {
				if client.ErrorCode(err) == client.ErrNodeExists {
					break
				}
				return err
			}
		}
	}
	splits := javaSplit(path, "/")
	for i := 1; i < len(splits); i++ {
		qp += "/" + splits[i]
		st, err := zk.Exists(qp, nil)
		if err != nil {
			return err
		}
		if st == nil {
			if _, err := zk.Create(qp, nil, client.OpenACLUnsafe, client.ModePersistent); err != nil && client.ErrorCode(err) != client.ErrNodeExists {
				return err
			}
		}
	}
	sp := qp + "/" + statNode
	qp = qp + "/" + limitNode
	st, err = zk.Exists(qp, nil)
	if err != nil {
		return err
	}
	if st == nil {
		if _, err := zk.Create(qp, []byte(quota.String()), client.OpenACLUnsafe, client.ModePersistent); err != nil {
			return err
		}
		if _, err := zk.Create(sp, []byte(statsTrack{"count": 0, "bytes": 0}.String()), client.OpenACLUnsafe, client.ModePersistent); err != nil {
			return err
		}
		qd, _, err := zk.GetData(qp, nil)
		if err != nil {
			return err
		}
		sd, _, err := zk.GetData(sp, nil)
		if err != nil {
			return err
		}
		checkQuota(s, parseStatsTrack(string(qd)), parseStatsTrack(string(sd)))
		return nil
	}
	qd, _, err := zk.GetData(qp, nil)
	if err != nil {
		return err
	}
	cur := parseStatsTrack(string(qd))
	for _, k := range []string{"count", "bytes", "countHardLimit", "byteHardLimit"} {
		if quota.get(k) > -1 {
			cur[k] = quota.get(k)
		}
	}
	sd, _, err := zk.GetData(sp, nil)
	if err != nil {
		return err
	}
	checkQuota(s, cur, parseStatsTrack(string(sd)))
	_, err = zk.SetData(qp, []byte(cur.String()), -1)
	return err
}

func checkQuota(s *shell, quota, stats statsTrack) {
	if (quota.get("count") > -1 && quota.get("count") < stats.get("count")) ||
		(quota.get("countHardLimit") > -1 && quota.get("countHardLimit") < stats.get("count")) {
		s.out.println("[Warning]: the count quota you create is less than the existing count:" + strconv.FormatInt(stats.get("count"), 10))
	}
	if (quota.get("bytes") > -1 && quota.get("bytes") < stats.get("bytes")) ||
		(quota.get("byteHardLimit") > -1 && quota.get("byteHardLimit") < stats.get("bytes")) {
		s.out.println("[Warning]: the bytes quota you create is less than the existing bytes:" + strconv.FormatInt(stats.get("bytes"), 10))
	}
}

func trimQuotaPath(p string) string { return p[len(quotaZookeeper):] }

// checkIfChildQuota refuses a quota on a node with a quota somewhere below it.
func checkIfChildQuota(zk *client.Conn, path string) error {
	real := quotaPath(path)
	err := visitSubTree(zk, real, false, func(qp string) error {
		kids, err := zk.GetChildren(qp, nil)
		if err != nil {
			return nil
		}
		for _, k := range kids {
			if qp != quotaZookeeper+path && k == limitNode {
				return &illegalArg{path + " has a child " + trimQuotaPath(qp) + " which has a quota"}
			}
		}
		return nil
	})
	if client.ErrorCode(err) == client.ErrNoNode {
		return nil
	}
	var pe *client.PathError
	if errors.As(err, &pe) {
		return &illegalArg{pe.Msg}
	}
	return err
}

// checkIfParentQuota refuses a quota on a node below one with a quota.
func checkIfParentQuota(zk *client.Conn, path string) error {
	splits := javaSplit(path, "/")
	qp := quotaZookeeper
	for i := 1; i < len(splits)-1; i++ {
		qp += "/" + splits[i]
		kids, err := zk.GetChildren(qp, nil)
		if client.ErrorCode(err) == client.ErrNoNode {
			return nil
		}
		if err != nil {
			return err
		}
		if len(kids) == 0 {
			return nil
		}
		for _, k := range kids {
			if qp != quotaPath(path) && k == limitNode {
				return &illegalArg{path + " has a parent " + trimQuotaPath(qp) + " which has a quota"}
			}
		}
	}
	return nil
}

func cmdListQuota(s *shell, args []string) error {
	cl, err := parseArgs(noOpts, args)
	if err != nil {
		return err
	}
	if len(cl.args) < 2 {
		return malformed(usageOf("listquota"))
	}
	path := cl.args[1]
	s.err.println("absolute path is " + limitPath(path))
	zk := s.conn()
	var tracks []statsTrack
	for _, p := range []string{limitPath(path), statPath(path)} {
		d, _, err := zk.GetData(p, nil)
		if err != nil {
			if client.ErrorCode(err) == client.ErrNoNode {
				s.err.println("quota for " + path + " does not exist.")
				return nil
			}
			return wrap(err)
		}
		tracks = append(tracks, parseStatsTrack(string(d)))
	}
	s.out.println("Output quota for " + path + " " + tracks[0].String())
	s.out.println("Output stat for " + path + " " + tracks[1].String())
	return nil
}

func cmdDelQuota(s *shell, args []string) error {
	cl, err := parseArgs(delQuotaOpts, args)
	if err != nil {
		return err
	}
	if len(cl.args) < 2 {
		return malformed(usageOf("delquota"))
	}
	path := cl.args[1]
	var which []string
	for _, o := range []struct{ opt, key string }{{"n", "count"}, {"b", "bytes"}, {"N", "countHardLimit"}, {"B", "byteHardLimit"}} {
		if cl.has(o.opt) {
			which = append(which, o.key)
		}
	}
	zk := s.conn()
	err = delQuota(s, zk, path, which)
	if client.ErrorCode(err) == client.ErrNoNode {
		s.err.println("quota for " + path + " does not exist.")
		return nil
	}
	if err != nil {
		return wrap(err)
	}
	return nil
}

// delQuota is DelQuotaCommand.delQuota: which == nil removes the quota altogether.
func delQuota(s *shell, zk *client.Conn, path string, which []string) error {
	parent, qp := quotaPath(path), limitPath(path)
	st, err := zk.Exists(qp, nil)
	if err != nil {
		return err
	}
	if st == nil {
		s.out.println("Quota does not exist for " + path)
		return nil
	}
	data, _, err := zk.GetData(qp, nil)
	if err != nil {
		return err
	}
	strack := parseStatsTrack(string(data))
	if which == nil {
		kids, err := zk.GetChildren(parent, nil)
		if err != nil {
			return err
		}
		for _, k := range kids {
			if err := zk.Delete(parent+"/"+k, -1); err != nil {
				return err
			}
		}
		return trimProcQuotas(zk, parent)
	}
	for _, k := range which {
		strack[k] = -1
	}
	_, err = zk.SetData(qp, []byte(strack.String()), -1)
	return err
}

func trimProcQuotas(zk *client.Conn, path string) error {
	for path != quotaZookeeper {
		kids, err := zk.GetChildren(path, nil)
		if err != nil {
			return err
		}
		if len(kids) != 0 {
			return nil
		}
		if err := zk.Delete(path, -1); err != nil {
			return err
		}
		path = path[:strings.LastIndexByte(path, '/')]
	}
	return nil
}

package main

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zkgo/zkgo/client"
)

// This file is zkCli's cli package: one entry per command of ZooKeeper 3.8's CommandFactory,
// each parsing its arguments like the Java command and printing the same text.

type command struct {
	opts string // option string of the usage line
	run  func(s *shell, args []string) error
}

// shellCommands are handled by the shell itself (ZooKeeperMain's commandMap entries).
var shellCommands = map[string]string{
	"connect":      "host:port",
	"history":      "",
	"redo":         "cmdno",
	"printwatches": "on|off",
	"quit":         "",
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"close":                {"", cmdClose},
		"create":               {"[-s] [-e] [-c] [-t ttl] path [data] [acl]", cmdCreate},
		"delete":               {"[-v version] path", cmdDelete},
		"deleteall":            {"path [-b batch size]", cmdDeleteAll},
		"set":                  {"[-s] [-v version] path data", cmdSet},
		"get":                  {"[-s] [-w] path", cmdGet},
		"ls":                   {"[-s] [-w] [-R] path", cmdLs},
		"getAcl":               {"[-s] path", cmdGetACL},
		"setAcl":               {"[-s] [-v version] [-R] path acl", cmdSetACL},
		"stat":                 {"[-w] path", cmdStat},
		"sync":                 {"path", cmdSync},
		"setquota":             {"-n|-b|-N|-B val path", cmdSetQuota},
		"listquota":            {"path", cmdListQuota},
		"delquota":             {"[-n|-b|-N|-B] path", cmdDelQuota},
		"addauth":              {"scheme auth", cmdAddAuth},
		"reconfig":             {"[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]", cmdReconfig},
		"config":               {"[-c] [-w] [-s]", cmdConfig},
		"removewatches":        {"path [-c|-d|-a] [-l]", cmdRemoveWatches},
		"getEphemerals":        {"path", cmdGetEphemerals},
		"getAllChildrenNumber": {"path", cmdGetAllChildrenNumber},
		"version":              {"", cmdVersion},
		"addWatch":             {"[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE", cmdAddWatch},
		"whoami":               {"", cmdWhoAmI},
	}
}

func isCommand(name string) bool {
	if _, ok := shellCommands[name]; ok {
		return true
	}
	_, ok := commands[name]
	return ok
}

func commandOptions(name string) string {
	if o, ok := shellCommands[name]; ok {
		return o
	}
	return commands[name].opts
}

// commandNames are all commands in the order zkCli's usage lists them (String order).
func commandNames() []string {
	var names []string
	for n := range shellCommands {
		names = append(names, n)
	}
	for n := range commands {
		names = append(names, n)
	}
	javaSort(names)
	return names
}

func usageOf(name string) string { return name + " " + commands[name].opts }

// parseArgs runs the option parser; its errors are CliParseExceptions.
func parseArgs(set *optSet, args []string) (*cmdLine, error) {
	cl, err := set.parse(args)
	if err != nil {
		return nil, malformed(err.Error())
	}
	return cl, nil
}

// wrap is CliWrapperException: the message zkCli prints for a failed request.
func wrap(err error) error {
	var ke *client.Error
	if errors.As(err, &ke) {
		p := ke.Path
		if p == "" {
			p = "null"
		}
		return malformed(keeperMessage(ke.Code, p, err.Error()))
	}
	var ce *cliError
	if errors.As(err, &ce) {
		return err
	}
	if c, ok := err.(client.Code); ok {
		return malformed(keeperMessage(c, "null", c.Error()))
	}
	return malformed(err.Error())
}

func keeperMessage(c client.Code, path, def string) string {
	switch c {
	case client.ErrNoNode:
		return "Node does not exist: " + path
	case client.ErrNoChildrenForEphemerals:
		return "Ephemerals cannot have children: " + path
	case client.ErrNodeExists:
		return "Node already exists: " + path
	case client.ErrNotEmpty:
		return "Node not empty: " + path
	case client.ErrNotReadOnly:
		return "Not a read-only call: " + path
	case client.ErrInvalidACL:
		return "Acl is not valid : " + path
	case client.ErrNoAuth:
		return "Insufficient permission : " + path
	case client.ErrBadArguments:
		return "Arguments are not valid : " + path
	case client.ErrBadVersion:
		return "version No is not valid : " + path
	case client.ErrReconfigInProgress:
		return "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)"
	case client.ErrNewConfigNoQuorum:
		return "No quorum of new config is connected and up-to-date with the leader of last commmitted config - try invoking reconfiguration after new servers are connected and synced"
	case client.ErrQuotaExceeded:
		return "Quota has exceeded : " + path
	}
	return def
}

// parseInt is Integer.parseInt where zkCli does not catch its NumberFormatException.
func parseIntOrCrash(s string) int32 {
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		panic(javaCrash{"java.lang.NumberFormatException", numberFormatMsg(s)})
	}
	return int32(v)
}

func numberFormatMsg(s string) string {
	if s == "" {
		return "For input string: \"\""
	}
	return "For input string: \"" + s + "\""
}

// javaString decodes data as new String(data, UTF_8): invalid bytes become U+FFFD.
func javaString(b []byte) string {
	if b == nil {
		return "null"
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func dw(watch bool) client.Watcher {
	if watch {
		return client.DefaultWatcher
	}
	return nil
}

var (
	createOpts = &optSet{opts: []optSpec{{"e", false, "ephemeral"}, {"s", false, "sequential"}, {"c", false, "container"}, {"t", true, "ttl"}}}
	lsOpts     = &optSet{opts: []optSpec{{"?", false, "help"}, {"s", false, "stat"}, {"w", false, "watch"}, {"R", false, "recurse"}}}
	getOpts    = &optSet{opts: []optSpec{{"s", false, "stats"}, {"w", false, "watch"}}}
	setOpts    = &optSet{opts: []optSpec{{"s", false, "stats"}, {"v", true, "version"}}}
	statOpts   = &optSet{opts: []optSpec{{"w", false, "watch"}}}
	deleteOpts = &optSet{opts: []optSpec{{"v", true, "version"}}}
	delAllOpts = &optSet{opts: []optSpec{{"b", true, "batch size"}}}
	setACLOpts = &optSet{opts: []optSpec{{"s", false, "stats"}, {"v", true, "version"}, {"R", false, "recursive"}}}
	getACLOpts = &optSet{opts: []optSpec{{"s", false, "stats"}}}
	noOpts     = &optSet{}
	watchOpts  = &optSet{opts: []optSpec{{"m", true, ""}}}
	rmwOpts    = &optSet{opts: []optSpec{{"c", false, "child watcher type"}, {"d", false, "data watcher type"},
		{"a", false, "any watcher type"}, {"l", false, "remove locally when there is no server connection"}}}
	configOpts   = &optSet{opts: []optSpec{{"s", false, "stats"}, {"w", false, "watch"}, {"c", false, "client connection string"}}}
	reconfigOpts = &optSet{opts: []optSpec{{"s", false, "stats"}, {"v", true, "required current config version"},
		{"file", true, "path of config file to parse for membership"},
		{"members", true, "comma-separated list of config strings for non-incremental reconfig"},
		{"add", true, "comma-separated list of config strings for new servers"},
		{"remove", true, "comma-separated list of server IDs to remove"}}}
	setQuotaOpts = &optSet{opts: []optSpec{{"n", true, "num soft quota"}, {"b", true, "bytes soft quota"},
		{"N", true, "num hard quota"}, {"B", true, "bytes hard quota"}}, group: []string{"n", "b", "N", "B"}, groupRequired: true}
	delQuotaOpts = &optSet{opts: []optSpec{{"n", false, "num soft quota"}, {"b", false, "bytes soft quota"},
		{"N", false, "num hard quota"}, {"B", false, "bytes hard quota"}}, group: []string{"n", "b", "N", "B"}}
)

func cmdClose(s *shell, _ []string) error {
	s.conn().Close()
	return nil
}

func cmdCreate(s *shell, args []string) error {
	cl, err := parseArgs(createOpts, args)
	if err != nil {
		return err
	}
	a := cl.args
	if len(a) < 2 {
		return malformed(usageOf("create"))
	}
	hasE, hasS, hasC, hasT := cl.has("e"), cl.has("s"), cl.has("c"), cl.has("t")
	if hasC && (hasE || hasS) {
		return malformed("-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.")
	}
	var ttl int64
	if hasT {
		if ttl, err = strconv.ParseInt(cl.value("t"), 10, 64); err != nil {
			return malformed("-t argument must be a long value")
		}
	}
	if hasT && hasE {
		return malformed("TTLs cannot be used with Ephemeral znodes")
	}
	if hasT && hasC {
		return malformed("TTLs cannot be used with Container znodes")
	}
	var mode client.CreateMode
	switch {
	case hasE && hasS:
		mode = client.ModeEphemeralSequential
	case hasE:
		mode = client.ModeEphemeral
	case hasS && hasT:
		mode = client.ModePersistentSequentialWithTTL
	case hasS:
		mode = client.ModePersistentSequential
	case hasC:
		mode = client.ModeContainer
	case hasT:
		mode = client.ModePersistentWithTTL
	default:
		mode = client.ModePersistent
	}
	if hasT && (ttl > client.MaxTTL || ttl <= 0) {
		return malformed("ttl must be positive and cannot be larger than: 1099511627775")
	}
	path := a[1]
	var data []byte
	if len(a) > 2 {
		data = []byte(a[2])
	}
	acl := client.OpenACLUnsafe
	if len(a) > 3 {
		acl = parseACL(a[3], s.err)
	}
	zk := s.conn()
	var created string
	if hasT {
		created, _, err = zk.CreateTTL(path, data, acl, mode, ttl)
	} else {
		created, err = zk.Create(path, data, acl, mode)
	}
	if err != nil {
		var pe *client.PathError
		if errors.As(err, &pe) {
			return malformed(pe.Msg)
		}
		switch client.ErrorCode(err) {
		case client.ErrEphemeralOnLocalSession:
			s.err.println("Unable to create ephemeral node on a local session")
		case client.ErrInvalidACL:
			s.err.println(err.Error())
		}
		return wrap(err)
	}
	s.err.println("Created " + created)
	return nil
}

// retainCompatibility is the 3.4-syntax fallback of ls/get/stat ("ls path watch"): the third
// word of the original line becomes -w and the line is parsed again.
func retainCompatibility(s *shell, set *optSet, args []string, cl *cmdLine, name, msg string, setW bool) (*cmdLine, error) {
	if len(cl.args) <= 2 {
		return cl, nil
	}
	if setW {
		args[2] = "-w"
	}
	s.err.println("'" + name + "' has been deprecated. Please use '" + msg + "' instead.")
	return parseArgs(set, args)
}

func cmdLs(s *shell, args []string) error {
	cl, err := parseArgs(lsOpts, args)
	if err != nil {
		return err
	}
	if cl.has("?") {
		s.out.println("usage: ls [options] path")
		for _, l := range []string{" -?   help", " -R   recurse", " -s   stat", " -w   watch"} {
			s.out.println(l)
		}
	}
	if cl, err = retainCompatibility(s, lsOpts, args, cl, "ls path [watch]", "ls [-w] path", true); err != nil {
		return err
	}
	if len(cl.args) < 2 {
		return malformed(usageOf("ls"))
	}
	path := cl.args[1]
	watch, withStat := cl.has("w"), cl.has("s")
	zk := s.conn()
	if cl.has("R") {
		err = visitSubTree(zk, path, watch, func(p string) error { s.out.println(p); return nil })
	} else {
		var kids []string
		var st *client.Stat
		if withStat {
			kids, st, err = zk.GetChildren2(path, dw(watch))
		} else {
			kids, err = zk.GetChildren(path, dw(watch))
		}
		if err == nil {
			javaSort(kids)
			s.out.println(javaList(kids))
			if st != nil {
				printStat(s.out, st)
			}
		}
	}
	if err != nil {
		return wrap(err)
	}
	return nil
}

// visitSubTree is ZKUtil.visitSubTreeDFS: the node, then its subtree depth first with the
// children of each node sorted and listed before their own subtrees.
func visitSubTree(zk *client.Conn, path string, watch bool, cb func(string) error) error {
	if err := client.ValidatePath(path, false); err != nil {
		return err
	}
	if _, _, err := zk.GetData(path, dw(watch)); err != nil {
		return err
	}
	if err := cb(path); err != nil {
		return err
	}
	return visitHelper(zk, path, watch, cb)
}

func visitHelper(zk *client.Conn, path string, watch bool, cb func(string) error) error {
	kids, err := zk.GetChildren(path, dw(watch))
	if client.ErrorCode(err) == client.ErrNoNode {
		return nil
	}
	if err != nil {
		return err
	}
	javaSort(kids)
	child := func(k string) string {
		if path == "/" {
			return "/" + k
		}
		return path + "/" + k
	}
	for _, k := range kids {
		if err := cb(child(k)); err != nil {
			return err
		}
	}
	for _, k := range kids {
		if err := visitHelper(zk, child(k), watch, cb); err != nil {
			return err
		}
	}
	return nil
}

func cmdGet(s *shell, args []string) error {
	cl, err := parseArgs(getOpts, args)
	if err != nil {
		return err
	}
	if len(cl.args) < 2 {
		return malformed(usageOf("get"))
	}
	if cl, err = retainCompatibility(s, getOpts, args, cl, "get path [watch]", "get [-s] [-w] path", true); err != nil {
		return err
	}
	data, st, err := s.conn().GetData(cl.args[1], dw(cl.has("w")))
	if err != nil {
		return wrap(err)
	}
	s.out.println(javaString(data))
	if cl.has("s") {
		printStat(s.out, st)
	}
	return nil
}

func cmdSet(s *shell, args []string) error {
	cl, err := parseArgs(setOpts, args)
	if err != nil {
		return err
	}
	if len(cl.args) < 3 {
		return malformed(usageOf("set"))
	}
	version := int32(-1)
	if cl.has("v") {
		version = parseIntOrCrash(cl.value("v"))
	}
	st, err := s.conn().SetData(cl.args[1], []byte(cl.args[2]), version)
	if err != nil {
		return wrap(err)
	}
	if cl.has("s") {
		printStat(s.out, st)
	}
	return nil
}

func cmdStat(s *shell, args []string) error {
	cl, err := parseArgs(statOpts, args)
	if err != nil {
		return err
	}
	if len(cl.args) < 2 {
		return malformed(usageOf("stat"))
	}
	if cl, err = retainCompatibility(s, statOpts, args, cl, "stat path [watch]", "stat [-w] path", true); err != nil {
		return err
	}
	path := cl.args[1]
	st, err := s.conn().Exists(path, dw(cl.has("w")))
	if err != nil {
		return wrap(err)
	}
	if st == nil {
		return wrap(&client.Error{Code: client.ErrNoNode, Path: path})
	}
	printStat(s.out, st)
	return nil
}

func cmdDelete(s *shell, args []string) error {
	cl, err := parseArgs(deleteOpts, args)
	if err != nil {
		return err
	}
	if len(cl.args) < 2 {
		return malformed(usageOf("delete"))
	}
	if cl, err = retainCompatibility(s, deleteOpts, args, cl, "delete path [version]", "delete [-v version] path", false); err != nil {
		return err
	}
	version := int32(-1)
	if cl.has("v") {
		version = parseIntOrCrash(cl.value("v"))
	}
	if err := s.conn().Delete(cl.args[1], version); err != nil {
		return wrap(err)
	}
	return nil
}

func cmdDeleteAll(s *shell, args []string) error {
	cl, err := parseArgs(delAllOpts, args)
	if err != nil {
		return err
	}
	if len(cl.args) < 2 {
		return malformed(usageOf("deleteall"))
	}
	batch := 1000
	if cl.has("b") {
		v, err := strconv.ParseInt(cl.value("b"), 10, 32)
		if err != nil {
			return malformed("-b argument must be an int value")
		}
		batch = int(v)
	}
	ok, err := deleteRecursive(s.conn(), cl.args[1], batch)
	if err != nil {
		return wrap(err)
	}
	if !ok {
		s.err.println("Failed to delete some node(s) in the subtree!")
	}
	return nil
}

// deleteRecursive is ZKUtil.deleteRecursive: list the subtree breadth first, then delete it
// deepest first in multi batches of batch nodes.
func deleteRecursive(zk *client.Conn, root string, batch int) (bool, error) {
	if err := client.ValidatePath(root, false); err != nil {
		return false, err
	}
	tree := []string{root}
	for i := 0; i < len(tree); i++ {
		node := tree[i]
		kids, err := zk.GetChildren(node, nil)
		if err != nil {
			return false, err
		}
		for _, k := range kids {
			if node == "/" {
				tree = append(tree, "/"+k)
			} else {
				tree = append(tree, node+"/"+k)
			}
		}
	}
	var ops []client.Op
	success := true
	for i := len(tree) - 1; i >= 0; i-- {
		ops = append(ops, &client.DeleteOp{Path: tree[i], Version: -1})
		if len(ops) == batch || i == 0 {
			if !success {
				break
			}
			if _, err := zk.Multi(ops...); err != nil {
				success = false
			}
			ops = nil
		}
	}
	return success, nil
}

func cmdGetACL(s *shell, args []string) error {
	cl, err := parseArgs(getACLOpts, args)
	if err != nil {
		return err
	}
	if len(cl.args) < 2 {
		return malformed(usageOf("getAcl"))
	}
	acl, st, err := s.conn().GetACL(cl.args[1])
	if err != nil {
		return wrap(err)
	}
	for _, a := range acl {
		s.out.println(idString(a.Id) + ": " + permString(a.Perms))
	}
	if cl.has("s") {
		printStat(s.out, st)
	}
	return nil
}

func cmdSetACL(s *shell, args []string) error {
	cl, err := parseArgs(setACLOpts, args)
	if err != nil {
		return err
	}
	if len(cl.args) < 3 {
		return malformed(usageOf("setAcl"))
	}
	path := cl.args[1]
	acl := parseACL(cl.args[2], s.err)
	version := int32(-1)
	if cl.has("v") {
		version = parseIntOrCrash(cl.value("v"))
	}
	zk := s.conn()
	if cl.has("R") {
		err = visitSubTree(zk, path, false, func(p string) error {
			if _, err := zk.SetACL(p, acl, version); err != nil {
				var pe *client.PathError
				if errors.As(err, &pe) {
					return err
				}
				_, _ = s.out.Write([]byte(err.Error())) // no newline, as Java's out.print
			}
			return nil
		})
	} else {
		var st *client.Stat
		st, err = zk.SetACL(path, acl, version)
		if err == nil && cl.has("s") {
			printStat(s.out, st)
		}
	}
	if err != nil {
		return wrap(err)
	}
	return nil
}

func cmdSync(s *shell, args []string) error {
	cl, err := parseArgs(noOpts, args)
	if err != nil {
		return err
	}
	if len(cl.args) < 2 {
		return malformed(usageOf("sync"))
	}
	path := cl.args[1]
	if err := client.ValidatePath(path, false); err != nil {
		return wrap(err)
	}
	done := make(chan error, 1)
	zk := s.conn()
	go func() {
		_, err := zk.Sync(path)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			s.out.println("Sync has failed. rc=" + strconv.Itoa(int(client.ErrorCode(err))))
		} else {
			s.out.println("Sync is OK")
		}
	case <-time.After(30 * time.Second):
		return malformed("null")
	}
	return nil
}

func cmdGetAllChildrenNumber(s *shell, args []string) error {
	cl, err := parseArgs(noOpts, args)
	if err != nil {
		return err
	}
	if len(cl.args) < 2 {
		return malformed(usageOf("getAllChildrenNumber"))
	}
	n, err := s.conn().GetAllChildrenNumber(cl.args[1])
	if err != nil {
		return wrap(err)
	}
	s.out.println(strconv.Itoa(int(n)))
	return nil
}

func cmdGetEphemerals(s *shell, args []string) error {
	cl, err := parseArgs(noOpts, args)
	if err != nil {
		return err
	}
	prefix := "/"
	if len(cl.args) >= 2 {
		prefix = cl.args[1]
	}
	eph, err := s.conn().GetEphemerals(prefix)
	if err != nil {
		return wrap(err)
	}
	s.out.println(javaList(eph))
	return nil
}

func cmdAddAuth(s *shell, args []string) error {
	cl, err := parseArgs(noOpts, args)
	if err != nil {
		return err
	}
	if len(cl.args) < 2 {
		return malformed(usageOf("addauth"))
	}
	var b []byte
	if len(cl.args) >= 3 {
		b = []byte(cl.args[2])
	}
	s.conn().AddAuth(cl.args[1], b)
	return nil
}

func cmdVersion(s *shell, args []string) error {
	cl, err := parseArgs(noOpts, args)
	if err != nil {
		return err
	}
	if len(cl.args) > 1 {
		return malformed(usageOf("version"))
	}
	s.out.println("ZooKeeper CLI version: " + javaCLIVersion)
	return nil
}

func cmdWhoAmI(s *shell, _ []string) error {
	ids, err := s.conn().WhoAmI()
	if err != nil {
		return wrap(err)
	}
	s.out.println("Auth scheme: User")
	for _, id := range ids {
		s.out.println(id.AuthScheme + ": " + id.User)
	}
	return nil
}

func cmdAddWatch(s *shell, args []string) error {
	cl, err := parseArgs(watchOpts, args)
	if err != nil {
		return err
	}
	if len(cl.args) != 2 {
		return malformed(usageOf("addWatch"))
	}
	mode := client.AddWatchPersistentRecursive
	if cl.has("m") {
		switch strings.ToUpper(cl.value("m")) {
		case "PERSISTENT":
			mode = client.AddWatchPersistent
		case "PERSISTENT_RECURSIVE":
		default:
			return malformed(usageOf("addWatch"))
		}
	}
	if err := s.conn().AddWatch(cl.args[1], client.DefaultWatcher, mode); err != nil {
		var pe *client.PathError
		if errors.As(err, &pe) {
			// AddWatchCommand does not catch IllegalArgumentException
			panic(javaCrash{"java.lang.IllegalArgumentException", pe.Msg})
		}
		return wrap(err)
	}
	return nil
}

func cmdRemoveWatches(s *shell, args []string) error {
	cl, err := parseArgs(rmwOpts, args)
	if err != nil {
		return err
	}
	if len(cl.args) < 2 {
		return malformed(usageOf("removewatches"))
	}
	t := client.WatcherAny
	switch {
	case cl.has("c"):
		t = client.WatcherChildren
	case cl.has("d"):
		t = client.WatcherData
	}
	if err := s.conn().RemoveWatches(cl.args[1], nil, t, cl.has("l")); err != nil {
		return wrap(err)
	}
	return nil
}

func cmdConfig(s *shell, args []string) error {
	cl, err := parseArgs(configOpts, args)
	if err != nil {
		return err
	}
	data, st, err := s.conn().GetConfig(dw(cl.has("w")))
	if err != nil {
		return wrap(err)
	}
	text := javaString(data)
	if cl.has("c") {
		s.out.println(clientConfigString(text))
	} else {
		s.out.println(text)
	}
	if cl.has("s") {
		printStat(s.out, st)
	}
	return nil
}

// properties reads java.util.Properties text: key=value or key:value lines, # and !
// comments (continuation lines and escapes are not needed for ZooKeeper configs).
func properties(text string) [][2]string {
	var out [][2]string
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimLeft(line, " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=: \t")
		if i < 0 {
			out = append(out, [2]string{line, ""})
			continue
		}
		v := strings.TrimLeft(line[i+1:], " \t\f")
		if line[i] == ' ' || line[i] == '\t' {
			v = strings.TrimLeft(strings.TrimPrefix(strings.TrimLeft(line[i:], " \t\f"), "="), " \t\f")
		}
		out = append(out, [2]string{line[:i], v})
	}
	return out
}

// clientConfigString is ConfigUtils.getClientConfigStr: "version host:port,host:port".
func clientConfigString(config string) string {
	version := ""
	var addrs []string
	for _, kv := range properties(config) {
		k, v := strings.TrimSpace(kv[0]), strings.TrimSpace(kv[1])
		if k == "version" {
			version = v
		}
		if !strings.HasPrefix(k, "server.") {
			continue
		}
		parts := strings.SplitN(v, ";", 2)
		if len(parts) < 2 {
			continue
		}
		c := strings.TrimSpace(parts[1])
		if i := strings.LastIndexByte(c, ':'); i >= 0 {
			addrs = append(addrs, c)
		} else {
			addrs = append(addrs, "0.0.0.0:"+c)
		}
	}
	return version + " " + strings.Join(addrs, ",")
}

func cmdReconfig(s *shell, args []string) error {
	cl, err := parseArgs(reconfigOpts, args)
	if err != nil {
		return err
	}
	if !(cl.has("file") || cl.has("members")) && !cl.has("add") && !cl.has("remove") {
		return malformed(usageOf("reconfig"))
	}
	version := int64(-1)
	if cl.has("v") {
		v, err := strconv.ParseUint(cl.value("v"), 16, 64)
		if err != nil || strings.HasPrefix(cl.value("v"), "+") {
			return malformed("-v must be followed by a long (configuration version)")
		}
		version = int64(v)
	}
	if (cl.has("file") || cl.has("members")) && (cl.has("add") || cl.has("remove")) {
		return malformed("Can't use -file or -members together with -add or -remove (mixing incremental and non-incremental modes is not allowed)")
	}
	if cl.has("file") && cl.has("members") {
		return malformed("Can't use -file and -members together (conflicting non-incremental modes)")
	}
	joining, leaving, members := strings.ToLower(cl.value("add")), strings.ToLower(cl.value("remove")), strings.ToLower(cl.value("members"))
	if cl.has("file") {
		name := cl.value("file")
		f, err := os.Open(name)
		if err != nil {
			return malformed("Error processing " + name + name + " (" + errnoText(err) + ")")
		}
		var lines []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
		var servers []string
		for _, kv := range properties(strings.Join(lines, "\n")) {
			if strings.HasPrefix(kv[0], "server.") {
				servers = append(servers, kv[0]+"="+kv[1])
			}
		}
		members = strings.Join(servers, "\n")
	}
	data, st, err := s.conn().Reconfig(joining, leaving, members, version)
	if err != nil {
		var ke *client.Error
		if errors.As(err, &ke) {
			return malformed(keeperMessage(ke.Code, "", err.Error()))
		}
		return wrap(err)
	}
	s.out.println("Committed new configuration:\n" + javaString(data))
	if cl.has("s") {
		printStat(s.out, st)
	}
	return nil
}

// errnoText is the reason FileInputStream gives in its FileNotFoundException.
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ENOENT:
			return "No such file or directory"
		case syscall.EACCES:
			return "Permission denied"
		case syscall.EISDIR:
			return "Is a directory"
		}
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

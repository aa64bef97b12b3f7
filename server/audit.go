package server

import (
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/server/datatree"
)

// The audit log (audit.enable, ZKAuditProvider with its Slf4jAuditLogger): one line per
// server start and stop, per write a client of this server asked for (FinalRequestProcessor's
// AuditHelper: create, delete, setData, setAcl, multi, reconfig) and per ephemeral a closed or
// expired session leaves (DataTree.deleteNodes). The lines are ZooKeeper's, in the layout of
// its sample logback config's audit appender (RFAAUDIT: "%d{ISO8601} %p %c{2}: %m%n", a file
// of its own, 10 MB x 10), so tools that read ZooKeeper's audit file read zkgo's.

const (
	auditOpStart        = "serverStart"
	auditOpStop         = "serverStop"
	auditOpCreate       = "create"
	auditOpDelete       = "delete"
	auditOpSetData      = "setData"
	auditOpSetACL       = "setAcl"
	auditOpMulti        = "multiOperation"
	auditOpReconfig     = "reconfig"
	auditOpEphemeralDel = "ephemeralZNodeDeletionOnSessionCloseOrExpire"

	auditSuccess = "success"
	auditFailure = "failure"
	auditInvoked = "invoked"

	// The sample config's RollingFileAppender: MaxFileSize 10MB, MaxBackupIndex 10.
	auditMaxFileSize = 10 << 20
	auditBackups     = 10

	propAuditEnable    = "zookeeper.audit.enable"
	propAuditImplClass = "zookeeper.audit.impl.class"
	propAuditFile      = "zookeeper.auditlog.file"
	propLogDir         = "zookeeper.log.dir"
	auditLoggerClass   = "org.apache.zookeeper.audit.Slf4jAuditLogger"
)

// auditLog writes audit events; nil when audit.enable is off. Lines are formatted where the
// event happens (under the tree's lock for a closing session's ephemerals) and written by a
// goroutine of their own, so that no lock is held across the disk.
type auditLog struct {
	user string // the server's user (Login.SYSTEM_USER, user.name)
	now  func() time.Time
	log  zerolog.Logger

	mu      sync.Mutex
	buf     []byte // formatted lines not written yet
	dropped int    // lines dropped since the writer fell behind by auditMaxPending
	closed  bool
	kick    chan struct{}
	done    chan struct{}
	w       io.WriteCloser // rollingFile
}

// auditMaxPending bounds the lines waiting for a stalled disk; beyond it lines are dropped
// and counted, rather than memory spent or the server stopped.
const auditMaxPending = 64 << 20

// absent marks a field ZooKeeper leaves out (AuditEvent skips nulls); an empty value is
// written as "key=".
const absent = "\x00"

// AuditLogPath is where the audit log of cfg goes: zookeeper.auditlog.file (zookeeper_audit.log
// by default) in zookeeper.log.dir, which zkserver sets from ZOO_LOG_DIR as zkServer.sh does,
// else in the data dir, beside zookeeper.out. An absolute zookeeper.auditlog.file is used as is.
func AuditLogPath(cfg *config.Config) string {
	name := cfg.PropString(propAuditFile, "zookeeper_audit.log")
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(cfg.PropString(propLogDir, cfg.DataDir), name)
}

// CheckAudit refuses an audit logger zkgo cannot run: ZooKeeper loads the class that
// zookeeper.audit.impl.class names; zkgo has ZooKeeper's own (Slf4jAuditLogger) only.
func CheckAudit(cfg *config.Config) error {
	if !cfg.PropBool(propAuditEnable) {
		return nil
	}
	if class := cfg.PropString(propAuditImplClass, auditLoggerClass); class != auditLoggerClass {
		return fmt.Errorf("%s: %s: zkgo cannot load Java classes; its audit logger writes ZooKeeper's lines to %s", propAuditImplClass, class, AuditLogPath(cfg))
	}
	return nil
}

// newAuditLog opens the audit log when cfg enables it.
func newAuditLog(cfg *config.Config, log zerolog.Logger) (*auditLog, error) {
	if err := CheckAudit(cfg); err != nil || !cfg.PropBool(propAuditEnable) {
		return nil, err
	}
	f, err := openRolling(AuditLogPath(cfg), auditMaxFileSize, auditBackups)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	a := &auditLog{w: f, user: systemUser(), now: time.Now, log: log, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go a.writer()
	return a, nil
}

// writer writes what event queued, a batch at a time, until close.
func (a *auditLog) writer() {
	defer close(a.done)
	failing := false
	for {
		<-a.kick
		a.mu.Lock()
		buf, dropped, closed := a.buf, a.dropped, a.closed
		a.buf, a.dropped = nil, 0
		a.mu.Unlock()
		if len(buf) > 0 {
			// As a log appender: a full disk must not stop the server; it is reported
			// once until a write succeeds again.
			if _, err := a.w.Write(buf); err != nil && !failing {
				a.log.Error().Err(err).Msg("cannot write the audit log; audit events are being lost")
				failing = true
			} else if err == nil {
				failing = false
			}
		}
		if dropped > 0 {
			a.log.Error().Int("events", dropped).Msg("audit log writes fell behind; audit events were dropped")
		}
		if closed {
			a.w.Close()
			return
		}
	}
}

// systemUser is Java's user.name: the account the server runs as.
func systemUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "<NA>"
}

// event queues one line: the fields given (name, value pairs; absent values left out) and
// the result. Failures are logged at ERROR, the rest at INFO (Slf4jAuditLogger), in the
// layout of ZooKeeper's sample logback audit appender ("%d{ISO8601} %p %c{2}: %m%n").
func (a *auditLog) event(result string, kv ...string) {
	level := "INFO"
	if result == auditFailure {
		level = "ERROR"
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	if len(a.buf) > auditMaxPending {
		a.dropped++
		return
	}
	b := a.now().AppendFormat(a.buf, "2006-01-02 15:04:05,000")
	b = append(b, " "+level+" o.a.z.a.Slf4jAuditLogger: "...)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == absent {
			continue
		}
		b = append(b, kv[i]...)
		b = append(b, '=')
		b = append(b, kv[i+1]...)
		b = append(b, '\t')
	}
	b = append(b, "result="+result+"\n"...)
	a.buf = b
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// close writes what is queued and closes the file.
func (a *auditLog) close() {
	if a == nil {
		return
	}
	a.mu.Lock()
	already := a.closed
	a.closed = true
	a.mu.Unlock()
	if !already {
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
	<-a.done
}

// serverEvent is a start or stop line: the server's user and the operation only.
func (a *auditLog) serverEvent(op, result string) {
	if a != nil {
		a.event(result, "user", a.user, "operation", op)
	}
}

// ephemeralDeleted is DataTree.deleteNodes' line for each ephemeral a closing session leaves;
// a failure when a path its closeSession txn listed was gone.
func (a *auditLog) ephemeralDeleted(session int64, path string, deleted bool) {
	result := auditSuccess
	if !deleted {
		result = auditFailure
	}
	a.event(result, "session", sessionHex(session), "user", a.user, "ip", absent, "operation", auditOpEphemeralDel, "znode", path)
}

func sessionHex(id int64) string { return fmt.Sprintf("0x%x", uint64(id)) }

// request logs a committed request of this server's client as AuditHelper.addAuditLog does:
// writes only, the path from the result (from the request when its txn is an error), a
// create's mode, a setACL's ACL.
func (a *auditLog) request(r *request, users string, ip string) {
	failedTxn := r.hdr.Type == jute.OpError
	res := &r.result
	path := res.Path
	op, acl, mode := "", absent, absent
	switch r.op {
	case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer:
		op = auditOpCreate
		var req jute.CreateRequest
		if jute.Unmarshal(r.body, &req) != nil {
			return
		}
		var ok bool
		if mode, ok = createModeName(req.Flags); !ok {
			return // CreateMode.fromFlag throws: AuditHelper logs that it could not audit
		}
		if failedTxn {
			path = req.Path
		}
	case jute.OpDelete, jute.OpDeleteContainer:
		op = auditOpDelete
		if failedTxn {
			var req jute.PathVersionRequest
			if jute.Unmarshal(r.body, &req) != nil {
				return
			}
			path = req.Path
		}
	case jute.OpSetData:
		op = auditOpSetData
		if failedTxn {
			var req jute.SetDataRequest
			if jute.Unmarshal(r.body, &req) != nil {
				return
			}
			path = req.Path
		}
	case jute.OpSetACL:
		op = auditOpSetACL
		var req jute.SetACLRequest
		if jute.Unmarshal(r.body, &req) != nil {
			return
		}
		acl = aclString(req.ACL)
		if failedTxn {
			path = req.Path
		}
	case jute.OpMulti:
		if !failedTxn {
			a.multi(r, users, ip)
			return
		}
		op, path = auditOpMulti, absent
	case jute.OpReconfig:
		op = auditOpReconfig
		if failedTxn {
			path = absent
		}
	default:
		return
	}
	result := auditSuccess
	if failedTxn || res.Err != jute.OK {
		result = auditFailure
	}
	a.write(r.session, users, ip, op, path, mode, acl, result)
}

func (a *auditLog) write(session int64, users, ip, op, path, mode, acl, result string) {
	a.event(result, "session", sessionHex(session), "user", users, "ip", ip, "operation", op,
		"znode", path, "znode_type", mode, "acl", acl)
}

// multi is AuditHelper.logMultiOperation: a line per create, delete and setData of a multi
// that succeeded, one multiOperation failure for one that did not. A create's mode is looked
// up by the path it created, so a sequential one has none, as in ZooKeeper; a create with
// a mode that has no name makes ZooKeeper's lookup throw, and nothing is logged.
func (a *auditLog) multi(r *request, users, ip string) {
	ops, _ := decodeMulti(r.body, false)
	modes := make(map[string]string)
	for _, o := range ops {
		if o.create != nil && o.typ != jute.OpCreateTTL && !o.poison {
			m, ok := createModeName(o.create.Flags)
			if !ok {
				return
			}
			modes[o.create.Path] = m
		}
	}
	mode := func(path string) string {
		if m, ok := modes[path]; ok {
			return m
		}
		return absent
	}
	failed := false
	for _, sub := range r.result.Multi {
		switch sub.Type {
		case jute.OpCreate, jute.OpCreate2, jute.OpCreateTTL, jute.OpCreateContainer:
			a.write(r.session, users, ip, auditOpCreate, sub.Path, mode(sub.Path), absent, auditSuccess)
		case jute.OpDelete, jute.OpDeleteContainer:
			a.write(r.session, users, ip, auditOpDelete, sub.Path, absent, absent, auditSuccess)
		case jute.OpSetData:
			a.write(r.session, users, ip, auditOpSetData, sub.Path, absent, absent, auditSuccess)
		case jute.OpError:
			failed = true
		}
	}
	if failed {
		a.write(r.session, users, ip, auditOpMulti, absent, absent, absent, auditFailure)
	}
}

// createModeName is CreateMode.fromFlag(flags).toString().toLowerCase().
func createModeName(flags int32) (string, bool) {
	names := [...]string{"persistent", "ephemeral", "persistent_sequential", "ephemeral_sequential",
		"container", "persistent_with_ttl", "persistent_sequential_with_ttl"}
	if flags < 0 || int(flags) >= len(names) {
		return "", false
	}
	return names[flags], true
}

// aclString is ZKUtil.aclToString: scheme:id:perms for each entry, with nothing in between.
func aclString(acls []jute.ACL) string {
	var b strings.Builder
	for _, acl := range acls {
		b.WriteString(acl.Id.Scheme + ":" + acl.Id.ID + ":")
		for _, p := range []struct {
			bit int32
			c   byte
		}{{jute.PermCreate, 'c'}, {jute.PermDelete, 'd'}, {jute.PermRead, 'r'}, {jute.PermWrite, 'w'}, {jute.PermAdmin, 'a'}} {
			if acl.Perms&p.bit != 0 {
				b.WriteByte(p.c)
			}
		}
	}
	return b.String()
}

// auditUsers is AuthUtil.getUsers: the user names of ids that have one, comma separated;
// absent (null) when none has.
func (s *Server) auditUsers(ids []jute.Id) string {
	var names []string
	for _, id := range ids {
		if name, ok := s.auth.userName(id); ok && strings.TrimSpace(name) != "" {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return absent
	}
	return strings.Join(names, ",")
}

// auditRequest logs r if it is a write of a client of this server that became a txn, with
// the ids its connection had when it was read (Request.authInfo).
func (s *Server) auditRequest(r *request) {
	if r.txn == nil || r.conn == nil || r.hdr.Type == jute.OpCreateSession || r.hdr.Type == jute.OpCloseSession {
		return
	}
	s.audit.request(r, s.auditUsers(r.auth), r.conn.ip)
}

// auditTree makes t report the ephemerals it deletes for closing sessions.
func (s *Server) auditTree(t *datatree.Tree) {
	t.EphemeralDeleted = s.AuditEphemeralDeleted()
}

// AuditEphemeralDeleted is what a tree restored for this server reports the ephemerals of
// its replayed closeSessions to (persistence.RestoreOptions); nil without an audit log.
func (s *Server) AuditEphemeralDeleted() func(session int64, path string, deleted bool) {
	if s.audit == nil {
		return nil
	}
	return s.audit.ephemeralDeleted
}

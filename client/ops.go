package client

import (
	"github.com/zkgo/zkgo/jute"
)

// Stat, ACL and ID are the jute records.
type (
	Stat = jute.Stat
	ACL  = jute.ACL
	ID   = jute.Id
)

// ClientInfo is one identity of WhoAmI.
type ClientInfo = jute.ClientInfo

// Permissions.
const (
	PermRead   = jute.PermRead
	PermWrite  = jute.PermWrite
	PermCreate = jute.PermCreate
	PermDelete = jute.PermDelete
	PermAdmin  = jute.PermAdmin
	PermAll    = jute.PermAll
)

// OpenACLUnsafe is world:anyone with every permission (ZooDefs.Ids.OPEN_ACL_UNSAFE).
var OpenACLUnsafe = []ACL{{Perms: PermAll, Id: ID{Scheme: "world", ID: "anyone"}}}

// CreateMode is the kind of node Create makes.
type CreateMode int32

// Create modes (the CreateMode flags on the wire).
const (
	ModePersistent                  CreateMode = CreateMode(jute.ModePersistent)
	ModeEphemeral                   CreateMode = CreateMode(jute.ModeEphemeral)
	ModePersistentSequential        CreateMode = CreateMode(jute.ModePersistentSequential)
	ModeEphemeralSequential         CreateMode = CreateMode(jute.ModeEphemeralSequential)
	ModeContainer                   CreateMode = CreateMode(jute.ModeContainer)
	ModePersistentWithTTL           CreateMode = CreateMode(jute.ModePersistentWithTTL)
	ModePersistentSequentialWithTTL CreateMode = CreateMode(jute.ModePersistentSequentialWithTTL)
)

// IsSequential reports a sequential mode.
func (m CreateMode) IsSequential() bool {
	return m == ModePersistentSequential || m == ModeEphemeralSequential || m == ModePersistentSequentialWithTTL
}

// IsTTL reports a TTL mode.
func (m CreateMode) IsTTL() bool {
	return m == ModePersistentWithTTL || m == ModePersistentSequentialWithTTL
}

// MaxTTL is the largest TTL in milliseconds (EphemeralType.TTL.maxValue()).
const MaxTTL = jute.MaxTTL

// ValidateTTL checks a TTL as EphemeralType.validateTTL does.
func ValidateTTL(mode CreateMode, ttl int64) error {
	if mode.IsTTL() {
		if ttl > MaxTTL || ttl <= 0 {
			return &PathError{"ttl must be positive and cannot be larger than: 1099511627775"}
		}
	} else if ttl >= 0 {
		return &PathError{"ttl not valid for mode: " + mode.String()}
	}
	return nil
}

func (m CreateMode) String() string {
	switch m {
	case ModePersistent:
		return "PERSISTENT"
	case ModeEphemeral:
		return "EPHEMERAL"
	case ModePersistentSequential:
		return "PERSISTENT_SEQUENTIAL"
	case ModeEphemeralSequential:
		return "EPHEMERAL_SEQUENTIAL"
	case ModeContainer:
		return "CONTAINER"
	case ModePersistentWithTTL:
		return "PERSISTENT_WITH_TTL"
	case ModePersistentSequentialWithTTL:
		return "PERSISTENT_SEQUENTIAL_WITH_TTL"
	}
	return "CreateMode(?)"
}

func validateACL(acl []ACL) error {
	if len(acl) == 0 {
		return &Error{Code: ErrInvalidACL}
	}
	return nil
}

type recordFunc func(d *jute.Decoder)

func decodeStat(st *Stat) recordFunc { return func(d *jute.Decoder) { st.Decode(d) } }

// Create makes a node and returns its path (the server's, e.g. with a sequence number).
func (c *Conn) Create(path string, data []byte, acl []ACL, mode CreateMode) (string, error) {
	p, _, err := c.create(path, data, acl, mode, -1, false)
	return p, err
}

// Create2 is Create returning the new node's Stat too.
func (c *Conn) Create2(path string, data []byte, acl []ACL, mode CreateMode) (string, *Stat, error) {
	return c.create(path, data, acl, mode, -1, true)
}

// CreateTTL makes a TTL node (mode ModePersistentWithTTL or ModePersistentSequentialWithTTL);
// the server must run with zookeeper.extendedTypesEnabled.
func (c *Conn) CreateTTL(path string, data []byte, acl []ACL, mode CreateMode, ttl int64) (string, *Stat, error) {
	return c.create(path, data, acl, mode, ttl, true)
}

func (c *Conn) create(path string, data []byte, acl []ACL, mode CreateMode, ttl int64, withStat bool) (string, *Stat, error) {
	if err := ValidatePath(path, mode.IsSequential()); err != nil {
		return "", nil, err
	}
	if withStat || mode.IsTTL() {
		if err := ValidateTTL(mode, ttl); err != nil {
			return "", nil, err
		}
	}
	if err := validateACL(acl); err != nil {
		return "", nil, err
	}
	req := &jute.CreateRequest{Path: path, Data: data, ACL: acl, Flags: int32(mode)}
	op := jute.OpCreate
	switch {
	case mode == ModeContainer:
		op = jute.OpCreateContainer
	case mode.IsTTL():
		op = jute.OpCreateTTL
		req.TTL, req.HasTTL = ttl, true
	case withStat:
		op = jute.OpCreate2
	}
	var created string
	var st *Stat
	r := &request{op: op, body: req, path: path, decode: func(d *jute.Decoder) {
		created = d.String()
		if op != jute.OpCreate && d.Remaining() > 0 {
			st = new(Stat)
			st.Decode(d)
		}
	}}
	if err := c.submit(r); err != nil {
		return "", nil, err
	}
	return created, st, nil
}

// Delete removes a node; version -1 matches any version.
func (c *Conn) Delete(path string, version int32) error {
	if err := ValidatePath(path, false); err != nil {
		return err
	}
	return c.submit(&request{op: jute.OpDelete, path: path, body: &jute.PathVersionRequest{Path: path, Version: version}})
}

// Exists returns the node's Stat, or nil (and no error) if there is none. A watcher is
// registered either way: a data watch on an existing node, an exists watch otherwise.
func (c *Conn) Exists(path string, w Watcher) (*Stat, error) {
	if err := ValidatePath(path, false); err != nil {
		return nil, err
	}
	st := new(Stat)
	r := &request{op: jute.OpExists, path: path, decode: decodeStat(st),
		body: &jute.PathWatchRequest{Path: path, Watch: w != nil}}
	if w != nil {
		r.reg = &watchReg{path: path, w: w, exis: true}
	}
	err := c.submit(r)
	if ErrorCode(err) == ErrNoNode {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// GetData returns a node's data (nil for a node created with null data) and Stat.
func (c *Conn) GetData(path string, w Watcher) ([]byte, *Stat, error) {
	if err := ValidatePath(path, false); err != nil {
		return nil, nil, err
	}
	return c.getData(path, w)
}

func (c *Conn) getData(path string, w Watcher) ([]byte, *Stat, error) {
	st := new(Stat)
	var data []byte
	r := &request{op: jute.OpGetData, path: path,
		body:   &jute.PathWatchRequest{Path: path, Watch: w != nil},
		decode: func(d *jute.Decoder) { data = d.Buffer(); st.Decode(d) }}
	if w != nil {
		r.reg = &watchReg{kind: kindData, path: path, w: w}
	}
	if err := c.submit(r); err != nil {
		return nil, nil, err
	}
	return data, st, nil
}

// SetData replaces a node's data if its version matches (-1: any).
func (c *Conn) SetData(path string, data []byte, version int32) (*Stat, error) {
	if err := ValidatePath(path, false); err != nil {
		return nil, err
	}
	st := new(Stat)
	err := c.submit(&request{op: jute.OpSetData, path: path, decode: decodeStat(st),
		body: &jute.SetDataRequest{Path: path, Data: data, Version: version}})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// GetACL returns a node's ACL and Stat.
func (c *Conn) GetACL(path string) ([]ACL, *Stat, error) {
	if err := ValidatePath(path, false); err != nil {
		return nil, nil, err
	}
	st := new(Stat)
	var acl []ACL
	err := c.submit(&request{op: jute.OpGetACL, path: path, body: &jute.PathRequest{Path: path},
		decode: func(d *jute.Decoder) { acl = jute.DecodeACLs(d); st.Decode(d) }})
	if err != nil {
		return nil, nil, err
	}
	return acl, st, nil
}

// SetACL replaces a node's ACL if its ACL version matches (-1: any).
func (c *Conn) SetACL(path string, acl []ACL, version int32) (*Stat, error) {
	if err := ValidatePath(path, false); err != nil {
		return nil, err
	}
	if err := validateACL(acl); err != nil {
		return nil, err
	}
	st := new(Stat)
	err := c.submit(&request{op: jute.OpSetACL, path: path, decode: decodeStat(st),
		body: &jute.SetACLRequest{Path: path, ACL: acl, Version: version}})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// GetChildren lists a node's children (in the server's order).
func (c *Conn) GetChildren(path string, w Watcher) ([]string, error) {
	if err := ValidatePath(path, false); err != nil {
		return nil, err
	}
	var kids []string
	r := &request{op: jute.OpGetChildren, path: path,
		body:   &jute.PathWatchRequest{Path: path, Watch: w != nil},
		decode: func(d *jute.Decoder) { kids = d.Strings() }}
	if w != nil {
		r.reg = &watchReg{kind: kindChild, path: path, w: w}
	}
	if err := c.submit(r); err != nil {
		return nil, err
	}
	return kids, nil
}

// GetChildren2 lists a node's children and returns its Stat.
func (c *Conn) GetChildren2(path string, w Watcher) ([]string, *Stat, error) {
	if err := ValidatePath(path, false); err != nil {
		return nil, nil, err
	}
	var kids []string
	st := new(Stat)
	r := &request{op: jute.OpGetChildren2, path: path,
		body:   &jute.PathWatchRequest{Path: path, Watch: w != nil},
		decode: func(d *jute.Decoder) { kids = d.Strings(); st.Decode(d) }}
	if w != nil {
		r.reg = &watchReg{kind: kindChild, path: path, w: w}
	}
	if err := c.submit(r); err != nil {
		return nil, nil, err
	}
	return kids, st, nil
}

// Sync waits until the server this session uses has caught up with the leader.
func (c *Conn) Sync(path string) (string, error) {
	if err := ValidatePath(path, false); err != nil {
		return "", err
	}
	var out string
	err := c.submit(&request{op: jute.OpSync, path: path, body: &jute.PathRequest{Path: path},
		decode: func(d *jute.Decoder) { out = d.String() }})
	return out, err
}

// GetEphemerals lists this session's ephemeral nodes whose path starts with prefix ("/":
// all of them).
func (c *Conn) GetEphemerals(prefix string) ([]string, error) {
	if err := ValidatePath(prefix, false); err != nil {
		return nil, err
	}
	var out []string
	err := c.submit(&request{op: jute.OpGetEphemerals, body: &jute.PathRequest{Path: prefix},
		decode: func(d *jute.Decoder) { out = d.Strings() }})
	return out, err
}

// GetAllChildrenNumber counts the descendants of a node.
func (c *Conn) GetAllChildrenNumber(path string) (int32, error) {
	if err := ValidatePath(path, false); err != nil {
		return 0, err
	}
	var n int32
	err := c.submit(&request{op: jute.OpGetAllChildrenNumber, path: path, body: &jute.PathRequest{Path: path},
		decode: func(d *jute.Decoder) { n = d.Int() }})
	return n, err
}

// WhoAmI returns the identities the server has authenticated for this session.
func (c *Conn) WhoAmI() ([]ClientInfo, error) {
	var out []ClientInfo
	err := c.submit(&request{op: jute.OpWhoAmI, decode: func(d *jute.Decoder) {
		n := d.VectorLen(8)
		for i := 0; i < n; i++ {
			var ci ClientInfo
			ci.Decode(d)
			out = append(out, ci)
		}
	}})
	return out, err
}

// AddWatch sets a persistent watch, recursive or not, that stays until removed.
func (c *Conn) AddWatch(path string, w Watcher, mode AddWatchMode) error {
	if err := ValidatePath(path, false); err != nil {
		return err
	}
	k := kindPersistent
	if mode == AddWatchPersistentRecursive {
		k = kindPersistentRecursive
	}
	return c.submit(&request{op: jute.OpAddWatch, path: path,
		body: &jute.PathTypeRequest{Path: path, Type: int32(mode)},
		reg:  &watchReg{kind: k, path: path, w: w}})
}

// RemoveWatches removes the watches of a type on path: w's, or every watcher's if w is nil.
// With local, the watches are removed here even if the server cannot be told. Each removed
// watcher gets a DataWatchRemoved, ChildWatchRemoved or PersistentWatchRemoved event;
// ErrNoWatcher if there was none.
func (c *Conn) RemoveWatches(path string, w Watcher, t WatcherType, local bool) error {
	if err := ValidatePath(path, false); err != nil {
		return err
	}
	if w == DefaultWatcher {
		w = c.watches.def
	}
	return c.submit(&request{op: jute.OpRemoveWatches, path: path,
		body:  &jute.PathTypeRequest{Path: path, Type: int32(t)},
		dereg: &watchDereg{path: path, w: w, typ: t, local: local}})
}

// CheckWatches asks the server whether watches of a type are set on path.
func (c *Conn) CheckWatches(path string, t WatcherType) error {
	if err := ValidatePath(path, false); err != nil {
		return err
	}
	return c.submit(&request{op: jute.OpCheckWatches, path: path,
		body: &jute.PathTypeRequest{Path: path, Type: int32(t)}})
}

// ConfigNode is the znode holding the ensemble's dynamic configuration.
const ConfigNode = "/zookeeper/config"

// GetConfig reads the dynamic configuration (ZooKeeper.getConfig: getData of ConfigNode).
func (c *Conn) GetConfig(w Watcher) ([]byte, *Stat, error) {
	return c.getData(ConfigNode, w)
}

// Reconfig changes the ensemble (op 16): joining and leaving for an incremental change, or
// members for a new one; fromConfig is the expected config version (-1: any). It returns the
// new configuration.
func (c *Conn) Reconfig(joining, leaving, members string, fromConfig int64) ([]byte, *Stat, error) {
	st := new(Stat)
	var data []byte
	err := c.submit(&request{op: jute.OpReconfig,
		body:   &jute.ReconfigRequest{JoiningServers: joining, LeavingServers: leaving, NewMembers: members, CurConfigID: fromConfig},
		decode: func(d *jute.Decoder) { data = d.Buffer(); st.Decode(d) }})
	if err != nil {
		return nil, nil, err
	}
	return data, st, nil
}

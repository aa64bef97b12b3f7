package client

import (
	"github.com/zkgo/zkgo/jute"
)

// Op is one operation of a Multi.
type Op interface {
	opcode() int32
	record() jute.Record
	opPath() string
	validate() error
}

// CreateOp creates a node inside a Multi.
type CreateOp struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Mode  CreateMode
	TTL   int64 // TTL modes only
	Stat  bool  // ask for the Stat (create2)
	Flags int32 // ignored; Mode is sent
}

func (o *CreateOp) opcode() int32 {
	switch {
	case o.Mode == ModeContainer:
		return jute.OpCreateContainer
	case o.Mode.IsTTL():
		return jute.OpCreateTTL
	case o.Stat:
		return jute.OpCreate2
	}
	return jute.OpCreate
}

func (o *CreateOp) record() jute.Record {
	r := &jute.CreateRequest{Path: o.Path, Data: o.Data, ACL: o.ACL, Flags: int32(o.Mode)}
	if o.Mode.IsTTL() {
		r.TTL, r.HasTTL = o.TTL, true
	}
	return r
}
func (o *CreateOp) opPath() string { return o.Path }
func (o *CreateOp) validate() error {
	if err := ValidatePath(o.Path, o.Mode.IsSequential()); err != nil {
		return err
	}
	if o.Mode.IsTTL() {
		if err := ValidateTTL(o.Mode, o.TTL); err != nil {
			return err
		}
	}
	return validateACL(o.ACL)
}

// DeleteOp deletes a node inside a Multi.
type DeleteOp struct {
	Path    string
	Version int32
}

func (o *DeleteOp) opcode() int32 { return jute.OpDelete }
func (o *DeleteOp) record() jute.Record {
	return &jute.PathVersionRequest{Path: o.Path, Version: o.Version}
}
func (o *DeleteOp) opPath() string  { return o.Path }
func (o *DeleteOp) validate() error { return ValidatePath(o.Path, false) }

// SetDataOp sets a node's data inside a Multi.
type SetDataOp struct {
	Path    string
	Data    []byte
	Version int32
}

func (o *SetDataOp) opcode() int32 { return jute.OpSetData }
func (o *SetDataOp) record() jute.Record {
	return &jute.SetDataRequest{Path: o.Path, Data: o.Data, Version: o.Version}
}
func (o *SetDataOp) opPath() string  { return o.Path }
func (o *SetDataOp) validate() error { return ValidatePath(o.Path, false) }

// CheckOp requires a node's version inside a Multi.
type CheckOp struct {
	Path    string
	Version int32
}

func (o *CheckOp) opcode() int32 { return jute.OpCheck }
func (o *CheckOp) record() jute.Record {
	return &jute.PathVersionRequest{Path: o.Path, Version: o.Version}
}
func (o *CheckOp) opPath() string  { return o.Path }
func (o *CheckOp) validate() error { return ValidatePath(o.Path, false) }

// OpResult is the outcome of one operation of a Multi.
type OpResult struct {
	Type int32  // op code of the result (jute.OpError for a failed op)
	Err  Code   // for jute.OpError results
	Path string // created path
	Stat *Stat  // create2 and setData
}

type multiRequest struct{ ops []Op }

func (m *multiRequest) Encode(e *jute.Encoder) {
	for _, o := range m.ops {
		h := jute.MultiHeader{Type: o.opcode(), Done: false, Err: -1}
		h.Encode(e)
		o.record().Encode(e)
	}
	end := jute.MultiHeader{Type: -1, Done: true, Err: -1}
	end.Encode(e)
}

func (m *multiRequest) Decode(*jute.Decoder) {}

// Multi runs ops atomically: all succeed or none is applied. On failure the error is the
// first failing op's code and the results say which op failed (the others carry
// ErrRuntimeInconsistency, as the server reports them).
func (c *Conn) Multi(ops ...Op) ([]OpResult, error) {
	for _, o := range ops {
		if err := o.validate(); err != nil {
			return nil, err
		}
	}
	var results []OpResult
	r := &request{op: jute.OpMulti, body: &multiRequest{ops}, decode: func(d *jute.Decoder) {
		for d.Err() == nil {
			var h jute.MultiHeader
			h.Decode(d)
			if h.Done || d.Err() != nil {
				return
			}
			res := OpResult{Type: h.Type}
			switch h.Type {
			case jute.OpCreate:
				res.Path = d.String()
			case jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL:
				res.Path = d.String()
				res.Stat = new(Stat)
				res.Stat.Decode(d)
			case jute.OpSetData:
				res.Stat = new(Stat)
				res.Stat.Decode(d)
			case jute.OpError:
				res.Err = Code(d.Int())
			}
			results = append(results, res)
		}
	}}
	err := c.submit(r)
	if err != nil && len(results) == 0 {
		return nil, err
	}
	for _, res := range results {
		if res.Type == jute.OpError && res.Err != 0 {
			return results, res.Err
		}
	}
	return results, err
}

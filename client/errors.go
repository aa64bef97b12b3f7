package client

import (
	"errors"
	"strconv"

	"github.com/zkgo/zkgo/jute"
)

// Code is a ZooKeeper error code (KeeperException.Code). Every non-OK code is a Go error, so
// callers can test with errors.Is(err, client.ErrNoNode) whatever path the error carries.
type Code int32

// The error codes of ZooKeeper 3.8 (KeeperException.Code), as sentinel errors.
const (
	ErrSystemError                  Code = Code(jute.SystemError)
	ErrRuntimeInconsistency         Code = Code(jute.RuntimeInconsistency)
	ErrDataInconsistency            Code = Code(jute.DataInconsistency)
	ErrConnectionLoss               Code = Code(jute.ConnectionLoss)
	ErrMarshallingError             Code = Code(jute.MarshallingError)
	ErrUnimplemented                Code = Code(jute.Unimplemented)
	ErrOperationTimeout             Code = Code(jute.OperationTimeout)
	ErrBadArguments                 Code = Code(jute.BadArguments)
	ErrUnknownSession               Code = Code(jute.UnknownSession)
	ErrNewConfigNoQuorum            Code = Code(jute.NewConfigNoQuorum)
	ErrReconfigInProgress           Code = Code(jute.ReconfigInProgress)
	ErrAPIError                     Code = Code(jute.APIError)
	ErrNoNode                       Code = Code(jute.NoNode)
	ErrNoAuth                       Code = Code(jute.NoAuth)
	ErrBadVersion                   Code = Code(jute.BadVersion)
	ErrNoChildrenForEphemerals      Code = Code(jute.NoChildrenForEphemerals)
	ErrNodeExists                   Code = Code(jute.NodeExists)
	ErrNotEmpty                     Code = Code(jute.NotEmpty)
	ErrSessionExpired               Code = Code(jute.SessionExpired)
	ErrInvalidCallback              Code = Code(jute.InvalidCallback)
	ErrInvalidACL                   Code = Code(jute.InvalidACL)
	ErrAuthFailed                   Code = Code(jute.AuthFailed)
	ErrSessionMoved                 Code = Code(jute.SessionMoved)
	ErrNotReadOnly                  Code = Code(jute.NotReadOnly)
	ErrEphemeralOnLocalSession      Code = Code(jute.EphemeralOnLocalSession)
	ErrNoWatcher                    Code = Code(jute.NoWatcher)
	ErrRequestTimeout               Code = Code(jute.RequestTimeout)
	ErrReconfigDisabled             Code = Code(jute.ReconfigDisabled)
	ErrSessionClosedRequireSASLAuth Code = Code(jute.SessionClosedRequireSASLAuth)
	ErrQuotaExceeded                Code = Code(jute.QuotaExceeded)
	ErrThrottledOp                  Code = Code(jute.ThrottledOp)
)

// Message is the text Java's KeeperException.getCodeMessage gives for the code.
func (c Code) Message() string {
	switch c {
	case 0:
		return "ok"
	case ErrSystemError:
		return "SystemError"
	case ErrRuntimeInconsistency:
		return "RuntimeInconsistency"
	case ErrDataInconsistency:
		return "DataInconsistency"
	case ErrConnectionLoss:
		return "ConnectionLoss"
	case ErrMarshallingError:
		return "MarshallingError"
	case ErrNewConfigNoQuorum:
		return "NewConfigNoQuorum"
	case ErrReconfigInProgress:
		return "ReconfigInProgress"
	case ErrUnimplemented:
		return "Unimplemented"
	case ErrOperationTimeout:
		return "OperationTimeout"
	case ErrBadArguments:
		return "BadArguments"
	case ErrAPIError:
		return "APIError"
	case ErrNoNode:
		return "NoNode"
	case ErrNoAuth:
		return "NoAuth"
	case ErrBadVersion:
		return "BadVersion"
	case ErrNoChildrenForEphemerals:
		return "NoChildrenForEphemerals"
	case ErrNodeExists:
		return "NodeExists"
	case ErrInvalidACL:
		return "InvalidACL"
	case ErrAuthFailed:
		return "AuthFailed"
	case ErrNotEmpty:
		return "Directory not empty"
	case ErrSessionExpired:
		return "Session expired"
	case ErrInvalidCallback:
		return "Invalid callback"
	case ErrSessionMoved:
		return "Session moved"
	case ErrNotReadOnly:
		return "Not a read-only call"
	case ErrEphemeralOnLocalSession:
		return "Ephemeral node on local session"
	case ErrNoWatcher:
		return "No such watcher"
	case ErrReconfigDisabled:
		return "Reconfig is disabled"
	case ErrSessionClosedRequireSASLAuth:
		return "Session closed because client failed to authenticate"
	case ErrRequestTimeout:
		return "Request timeout"
	case ErrQuotaExceeded:
		return "Quota has exceeded"
	case ErrThrottledOp:
		return "Op throttled due to high load"
	}
	return "Unknown error " + strconv.Itoa(int(c))
}

// Error is KeeperException.getMessage without a path: "KeeperErrorCode = NoNode".
func (c Code) Error() string { return "KeeperErrorCode = " + c.Message() }

// Error is a ZooKeeper error for one path, as KeeperException carries it. Its text is Java's
// KeeperException.getMessage ("KeeperErrorCode = NoNode for /a"), and errors.Is matches
// its Code.
type Error struct {
	Code Code
	Path string // the client path of the request; "" when Java has none
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Code.Error()
	}
	return e.Code.Error() + " for " + e.Path
}

// Is reports whether target is e's Code.
func (e *Error) Is(target error) bool {
	c, ok := target.(Code)
	return ok && c == e.Code
}

// ErrorCode returns the ZooKeeper code of err (0 if err is nil, ErrSystemError if err carries
// no ZooKeeper code).
func ErrorCode(err error) Code {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var c Code
	if errors.As(err, &c) {
		return c
	}
	return ErrSystemError
}

// newError builds the error for a reply code; path may be empty.
func newError(code int32, path string) error {
	if code == 0 {
		return nil
	}
	return &Error{Code: Code(code), Path: path}
}

// PathError is an invalid path or argument detected by the client before anything is sent
// (Java throws IllegalArgumentException for these, with this message).
type PathError struct{ Msg string }

func (e *PathError) Error() string { return e.Msg }

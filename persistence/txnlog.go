// Package persistence owns every byte on disk: the transaction log and snapshots in Apache
// ZooKeeper's formats (version-2/log.<zxid>, version-2/snapshot.<zxid>), so a data dir moves
// between Apache ZooKeeper and zkgo in both directions.
//
// Invariants: a transaction is acknowledged only after Commit returned (fsync unless
// forceSync=no); log files are never appended to after a restart, a new one starts at the
// next zxid; a snapshot is written under a temporary name and renamed once complete and
// synced, so a crash never leaves a half snapshot under a snapshot name.
package persistence

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/internal/nbwrite"
	"github.com/zkgo/zkgo/jute"
)

// File magics and version (FileTxnLog.TXNLOG_MAGIC, FileSnap.SNAP_MAGIC).
const (
	logMagic  = 0x5A4B4C47 // "ZKLG"
	snapMagic = 0x5A4B534E // "ZKSN"
	version   = 2
	endOfRec  = 0x42 // 'B'
)

// VersionDir is the subdirectory Apache ZooKeeper keeps its files in.
const VersionDir = "version-2"

// TxnLog appends transactions to log.<zxid> files with preallocation and group commit.
type TxnLog struct {
	dir       string
	preAlloc  int64
	forceSync bool
	warnMs    int64
	log       zerolog.Logger

	f         *os.File
	w         *bufio.Writer
	async     bool    // LogOptions.AsyncSync
	sync      *syncer // created on the first fsync, released by Close
	pos       int64   // bytes written to the current file (buffered included)
	committed int64   // bytes of the current file known to be durable
	size      int64   // preallocated size of the current file
	zeroed    int64   // the current file holds written zeros (not a hole) up to here
	fresh     bool    // the current file holds no committed record yet

	// failHook injects write errors (tests of the disk-full path).
	failHook atomic.Pointer[func() error]

	// Bytes appended since the last Roll (a snapshot's), for snapSizeLimitInKb, and since
	// the current file started, for txnLogSizeLimitInKb (RollFile).
	sinceRoll, inFile int64

	meta      *Meta
	firstZxid int64
	lastZxid  int64
}

// LogOptions configure a TxnLog.
type LogOptions struct {
	PreAllocBytes int64 // zookeeper.preAllocSize (KiB) * 1024; <= 0 disables padding
	ForceSync     bool  // zookeeper.forceSync
	WarnMs        int64 // fsync.warningthresholdms
	Log           zerolog.Logger
	Meta          *Meta // catalog to record segments in (nil: none)
	// SnapCompression is how snapshots written next to this log are compressed
	// (zookeeper.snapshot.compression.method).
	SnapCompression Compression
	// AsyncSync syncs through the kernel's AIO where available (syncer), so the goroutine
	// waiting for the disk does not hold a Go P. A server running on one P needs it: an
	// ensemble member sharing a host, and a standalone server on a host of one or two CPUs
	// (cmd/zkserver), where one P with AIO syncs wrote 20-35% faster than two Ps with
	// fdatasync(2) (zkbench set at 1 and 32 sessions, interleaved A/B). With two Ps or more
	// it does not pay: a completion then waits for a P to poll the network poller, and the
	// kernel worker that runs the fsync competes for the CPU (setData at 32 sessions ~10%
	// lower than fdatasync(2) with two Ps).
	// With AsyncSync the log's writes are raw system calls as well (nbwrite.FileWriter):
	// the member's loop waits for them anyway, and a write entered the usual way woke the
	// runtime's monitor once per batch (three local members at 3000 writes/s: 20% less CPU
	// per write, half the context switches).
	AsyncSync bool
}

// OpenTxnLog prepares appending under dir (the dataLogDir's version-2). The first Append
// starts a new file named by its zxid.
func OpenTxnLog(dir string, o LogOptions) (*TxnLog, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &TxnLog{dir: dir, preAlloc: o.PreAllocBytes, forceSync: o.ForceSync, warnMs: o.WarnMs, log: o.Log, meta: o.Meta,
		async: o.AsyncSync}, nil
}

// LogName is log.<hex zxid>, lower case without leading zeros (Long.toHexString).
func LogName(zxid int64) string { return "log." + strconv.FormatUint(uint64(zxid), 16) }

// SnapName is snapshot.<hex zxid>.
func SnapName(zxid int64) string { return "snapshot." + strconv.FormatUint(uint64(zxid), 16) }

// MarshalTxn is the txn bytes of a log record and a proposal: TxnHeader then the record.
func MarshalTxn(hdr *jute.TxnHeader, rec jute.Record) []byte {
	e := jute.NewEncoder(128)
	hdr.Encode(e)
	if rec != nil {
		rec.Encode(e)
	}
	return e.B
}

func (l *TxnLog) openNew(zxid int64) error {
	name := filepath.Join(l.dir, LogName(zxid))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if errors.Is(err, os.ErrExist) && holdsNoTxn(name) {
		// A crash between creating a log and committing its first record leaves a file of
		// that name with no transaction in it (empty, a missing or zero header, a torn first
		// record). The restart found nothing in it and goes on from the same zxid, so the
		// file is started afresh; refusing would fail every write from now on.
		l.log.Warn().Str("file", name).Msg("replacing a transaction log that holds no transaction (crash before its first commit)")
		f, err = os.OpenFile(name, os.O_TRUNC|os.O_WRONLY, 0o644)
	}
	if err != nil {
		return fmt.Errorf("create txn log: %w", err)
	}
	// The header goes straight to the file, before any padding: a crash must never leave a
	// preallocated file whose header is zeros.
	var hdr [16]byte
	binary.BigEndian.PutUint32(hdr[0:], logMagic)
	binary.BigEndian.PutUint32(hdr[4:], version)
	// dbid 0
	if _, err := f.Write(hdr[:]); err != nil {
		f.Close()
		return fmt.Errorf("write txn log header: %w", err)
	}
	l.f = f
	var out io.Writer = f
	if l.async {
		out = nbwrite.FileWriter(f) // see AsyncSync
	}
	l.w = bufio.NewWriterSize(out, 256<<10)
	l.pos, l.size, l.zeroed = 16, 0, 16
	l.committed = 0
	l.fresh = true
	l.firstZxid, l.lastZxid = zxid, zxid
	// The directory entry must survive a crash as well as the data, and the catalog must
	// know the segment before anything acknowledged lands in it.
	if err := syncDir(l.dir); err != nil {
		return err
	}
	if l.meta != nil {
		return l.meta.Record(FileInfo{Name: LogName(zxid), Kind: "log", FirstZxid: zxid, LastZxid: zxid, Written: time.Now().UnixMilli()})
	}
	return nil
}

// Append buffers one transaction; it is durable after Commit.
func (l *TxnLog) Append(hdr *jute.TxnHeader, rec jute.Record) error {
	return l.AppendDigest(hdr, rec, nil)
}

// AppendDigest buffers a transaction followed by its TxnDigest (the tree digest once it is
// applied), as Apache ZooKeeper 3.6+ logs it when digests are enabled.
func (l *TxnLog) AppendDigest(hdr *jute.TxnHeader, rec jute.Record, digest *jute.TxnDigest) error {
	return l.AppendRecord(hdr.Zxid, EncodeRecord(hdr, rec, digest))
}

// EncodeRecord frames one transaction as a log record (checksum, length, txn bytes, TxnDigest
// when not nil, end-of-record marker), ready for AppendRecord. It touches no log state, so
// records can be encoded on another goroutine than the one appending them.
func EncodeRecord(hdr *jute.TxnHeader, rec jute.Record, digest *jute.TxnDigest) []byte {
	// Sized for a small write (header, path, value of a few hundred bytes, digest) so it
	// is encoded without regrowing.
	e := &jute.Encoder{B: make([]byte, 12, 384)}
	hdr.Encode(e)
	if rec != nil {
		rec.Encode(e)
	}
	if digest != nil {
		digest.Encode(e)
	}
	b := e.B
	body := b[12:]
	binary.BigEndian.PutUint64(b[0:], uint64(adler32.Checksum(body)))
	binary.BigEndian.PutUint32(b[8:], uint32(len(body)))
	return append(b, endOfRec)
}

// AppendRecord buffers a record framed by EncodeRecord for the txn zxid; it is durable
// after Commit.
func (l *TxnLog) AppendRecord(zxid int64, record []byte) error {
	if l.f == nil {
		if err := l.openNew(zxid); err != nil {
			return err
		}
	}
	n := int64(len(record))
	if err := l.pad(n); err != nil {
		return err
	}
	l.lastZxid = zxid
	if _, err := l.w.Write(record); err != nil {
		return err
	}
	l.pos += n
	l.sinceRoll += n
	l.inFile += n
	return nil
}

// pad preallocates the file in preAlloc steps (FilePadding) so that fsync rarely has to
// update the file size, and keeps the region the next records go to filled with written
// zeros. Apache ZooKeeper's padding is a hole (one byte written at the new end): appending
// into it allocates blocks, and each fdatasync then also writes that allocation out (ext4
// here: 135-155 us per sync of a 2.6 KB append, against 90-100 us over written zeros;
// 6.7-7.5k against 9.6-9.9k syncs/s). Writing zeros ahead in zeroAhead steps pays the
// allocation once per step; the file's size and contents are as before (zeros past the
// last record either way).
func (l *TxnLog) pad(next int64) error {
	if l.preAlloc <= 0 {
		return nil
	}
	if l.pos+next+4096 >= l.size {
		newSize := l.size
		end := l.pos + next
		if end > newSize {
			newSize = end + l.preAlloc
			newSize -= newSize % l.preAlloc
		} else {
			newSize += l.preAlloc
		}
		if _, err := l.f.WriteAt([]byte{0}, newSize-1); err != nil {
			return fmt.Errorf("preallocate txn log: %w", err)
		}
		l.size = newSize
	}
	// Only offsets at or past l.pos are zeroed: nothing has been appended there, buffered
	// or written, so the zeros can never overwrite a record.
	if end := l.pos + next; end > l.zeroed {
		from := max(l.zeroed, l.pos)
		to := min(max(end, from+zeroAhead), l.size)
		for from < to {
			n := min(to-from, int64(len(zeroPage)))
			if _, err := l.f.WriteAt(zeroPage[:n], from); err != nil {
				return fmt.Errorf("preallocate txn log: %w", err)
			}
			from += n
		}
		l.zeroed = to
	}
	return nil
}

// zeroAhead is how far past the last record pad fills the log with written zeros at a time.
const zeroAhead = 1 << 20

// zeroPage is never written: its pages stay the kernel's shared zero page.
var zeroPage [zeroAhead]byte

// Commit writes out everything appended and fsyncs it (group commit: one fsync for the batch).
func (l *TxnLog) Commit() error {
	if l.f == nil {
		return nil
	}
	if hook := l.failHook.Load(); hook != nil {
		if err := (*hook)(); err != nil {
			return fmt.Errorf("write txn log: %w", err)
		}
	}
	if err := l.w.Flush(); err != nil {
		return fmt.Errorf("write txn log: %w", err)
	}
	if !l.forceSync {
		l.committed, l.fresh = l.pos, false
		return nil
	}
	if err := l.datasync(l.f); err != nil {
		return err
	}
	l.committed, l.fresh = l.pos, false
	return nil
}

// datasync fsyncs f, warning past fsync.warningthresholdms.
func (l *TxnLog) datasync(f *os.File) error {
	start := time.Now()
	if l.sync == nil {
		if l.async {
			l.sync = newSyncer()
		} else {
			l.sync = plainSyncer()
		}
	}
	if err := l.sync.datasync(f); err != nil {
		return fmt.Errorf("fsync txn log: %w", err)
	}
	if ms := time.Since(start).Milliseconds(); l.warnMs > 0 && ms > l.warnMs {
		l.log.Warn().Int64("ms", ms).Str("file", f.Name()).Msg("fsync-ing the write ahead log took long; see fsync.warningthresholdms")
	}
	return nil
}

// LogSync is what a Flush wrote and its Sync makes durable.
type LogSync struct {
	l   *TxnLog
	f   *os.File
	pos int64
}

// Flush writes out everything appended without syncing it, for a caller that goes on
// appending while another goroutine syncs (Sync), as etcd's asynchronous storage writes:
// an ensemble member keeps applying commits and taking proposals during its fsync. The log
// must not be rolled, closed, truncated or committed until every LogSync handed out has
// been synced and reported with Synced.
func (l *TxnLog) Flush() (LogSync, error) {
	if l.f == nil {
		return LogSync{}, nil
	}
	if err := l.w.Flush(); err != nil {
		return LogSync{}, fmt.Errorf("write txn log: %w", err)
	}
	return LogSync{l: l, f: l.f, pos: l.pos}, nil
}

// Sync makes s durable (and everything flushed to its file before it). It may run on
// another goroutine than the appender's, one Sync at a time; with forceSync=no it does nothing.
func (s LogSync) Sync() error {
	if s.f == nil {
		return nil
	}
	if hook := s.l.failHook.Load(); hook != nil {
		if err := (*hook)(); err != nil {
			return fmt.Errorf("fsync txn log: %w", err)
		}
	}
	if !s.l.forceSync {
		return nil
	}
	return s.l.datasync(s.f)
}

// Synced records, on the appender's goroutine, that s was synced.
func (l *TxnLog) Synced(s LogSync) {
	if s.f != nil && s.f == l.f && s.pos > l.committed {
		l.committed, l.fresh = s.pos, false
	}
}

// InjectFailure makes Commit (and LogSync.Sync) call f first and fail with its error (tests only).
func (l *TxnLog) InjectFailure(f func() error) { l.failHook.Store(&f) }

// Abandon undoes a failed batch (disk full, I/O error): the current file is cut back to what
// was committed and synced, so none of the batch can reappear after a restart, and the next
// Append starts a new file. An error here means the log's state on disk is unknown.
func (l *TxnLog) Abandon() error {
	if l.f == nil {
		return nil
	}
	name := l.f.Name()
	l.f.Close()
	l.f, l.w = nil, nil
	if l.fresh {
		// Nothing of this file was ever committed: remove it entirely.
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := syncDir(l.dir); err != nil {
			return err
		}
		if l.meta != nil {
			return l.meta.Forget(filepath.Base(name))
		}
		return nil
	}
	return TruncateAt(name, l.committed)
}

// Roll closes the current file; the next Append starts a new one (after a snapshot starts).
func (l *TxnLog) Roll() error {
	l.sinceRoll = 0
	return l.RollFile()
}

// RollFile closes the current file without restarting the count of bytes since the last
// snapshot (FileTxnLog's roll at txnLogSizeLimitInKb keeps its running total).
func (l *TxnLog) RollFile() error {
	l.inFile = 0
	if l.f == nil {
		return nil
	}
	err := l.Commit()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if err == nil && l.meta != nil && !l.fresh {
		err = l.meta.Record(FileInfo{Name: LogName(l.firstZxid), Kind: "log", FirstZxid: l.firstZxid,
			LastZxid: l.lastZxid, Size: l.committed, Closed: true, Written: time.Now().UnixMilli()})
	}
	l.f, l.w = nil, nil
	return err
}

// BytesSinceRoll is what was appended since the last Roll.
func (l *TxnLog) BytesSinceRoll() int64 { return l.sinceRoll }

// FileBytes is what was appended to the current file.
func (l *TxnLog) FileBytes() int64 { return l.inFile }

// Close commits and closes.
func (l *TxnLog) Close() error {
	err := l.Roll()
	if l.sync != nil {
		l.sync.close()
		l.sync = nil
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// zxidFiles lists files named prefix.<hex> in dir, sorted by zxid.
func zxidFiles(dir, prefix string) ([]fileZxid, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []fileZxid
	for _, e := range ents {
		name := e.Name()
		parts := strings.Split(name, ".")
		if len(parts) < 2 || parts[0] != prefix || e.IsDir() {
			continue
		}
		z, err := strconv.ParseUint(parts[1], 16, 64)
		if err != nil {
			continue
		}
		out = append(out, fileZxid{path: filepath.Join(dir, name), zxid: int64(z)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].zxid < out[j].zxid })
	return out, nil
}

type fileZxid struct {
	path string
	zxid int64
}

// LoggedTxn is one record read back from a log.
type LoggedTxn struct {
	Hdr jute.TxnHeader
	Rec jute.Record
	// Digest is the TxnDigest that 3.6+ writes after the record, if present.
	Digest *jute.TxnDigest
	// Raw is the txn bytes (as a proposal carries them) and Offset where the record starts
	// in its file; set by ReadLog.
	Raw    []byte
	Offset int64
}

// ErrTornTail reports a partially written final record; Offset is where it starts.
type ErrTornTail struct {
	File   string
	Offset int64
	Reason string
}

func (e *ErrTornTail) Error() string {
	return fmt.Sprintf("%s: partial record at offset %d (%s)", e.File, e.Offset, e.Reason)
}

// ErrCorrupt reports a record that fails its checksum or cannot be decoded.
type ErrCorrupt struct {
	File   string
	Offset int64
	Reason string
}

func (e *ErrCorrupt) Error() string {
	return fmt.Sprintf("%s: corrupt record at offset %d: %s", e.File, e.Offset, e.Reason)
}

// ReadLogFile calls fn for each record of one log file, in order. The end of the log is EOF or
// the zero padding. A record cut short (or without its end marker) is a torn tail; a record
// whose checksum fails or that does not decode is corruption.
func ReadLogFile(path string, fn func(*LoggedTxn) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return ReadLog(f, fi.Size(), path, fn)
}

// ReadLog reads the records of a log held by f (size bytes); name labels errors.
func ReadLog(f io.ReaderAt, size int64, name string, fn func(*LoggedTxn) error) error {
	path := name
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, size), int(min(max(size, 16), 256<<10)))
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return &ErrTornTail{File: path, Offset: 0, Reason: "no file header"}
	}
	if allZero(hdr[:]) {
		// Created and preallocated, header not yet written (a crash right after the file was
		// created): nothing in it was ever committed.
		return &ErrTornTail{File: path, Offset: 0, Reason: "zero file header"}
	}
	if binary.BigEndian.Uint32(hdr[0:]) != logMagic {
		return &ErrCorrupt{File: path, Offset: 0, Reason: "bad magic"}
	}
	off := int64(16)
	var pre [12]byte
	for {
		n, err := io.ReadFull(r, pre[:])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if allZero(pre[:n]) {
				return nil
			}
			return &ErrTornTail{File: path, Offset: off, Reason: "short record header"}
		}
		sum := binary.BigEndian.Uint64(pre[0:])
		length := int32(binary.BigEndian.Uint32(pre[8:]))
		if sum == 0 && length == 0 {
			return nil // preallocated zeros
		}
		if length <= 0 || off+13+int64(length) > size {
			return &ErrTornTail{File: path, Offset: off, Reason: fmt.Sprintf("bad length %d", length)}
		}
		body := make([]byte, int(length)+1)
		if _, err := io.ReadFull(r, body); err != nil {
			return &ErrTornTail{File: path, Offset: off, Reason: "short record"}
		}
		if body[length] != endOfRec {
			return &ErrTornTail{File: path, Offset: off, Reason: "no end-of-record marker"}
		}
		body = body[:length]
		if uint64(adler32.Checksum(body)) != sum {
			// A bad last record (only zeros after it) was never acknowledged: an fsynced
			// record is whole on disk. It is a torn write; anything earlier is corruption.
			if zerosFrom(f, off+13+int64(length)) {
				return &ErrTornTail{File: path, Offset: off, Reason: "checksum mismatch in the last record"}
			}
			return &ErrCorrupt{File: path, Offset: off, Reason: "checksum mismatch"}
		}
		lt, err := decodeLogged(body)
		if err != nil {
			return &ErrCorrupt{File: path, Offset: off, Reason: err.Error()}
		}
		lt.Raw, lt.Offset = body, off
		if err := fn(lt); err != nil {
			return err
		}
		off += 13 + int64(length)
	}
}

// zerosFrom reports whether the file holds only zero bytes from off to its end.
func zerosFrom(f io.ReaderAt, off int64) bool {
	buf := make([]byte, 64<<10)
	for {
		n, err := f.ReadAt(buf, off)
		if !allZero(buf[:n]) {
			return false
		}
		off += int64(n)
		if err != nil {
			return err == io.EOF
		}
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// decodeLogged decodes TxnHeader, record and the optional TxnDigest.
func decodeLogged(b []byte) (*LoggedTxn, error) {
	d := jute.NewDecoder(b)
	lt := &LoggedTxn{}
	lt.Hdr.Decode(d)
	if d.Err() != nil {
		return nil, d.Err()
	}
	rec, err := jute.NewTxn(lt.Hdr.Type)
	if err != nil {
		return nil, err
	}
	rec.Decode(d)
	if d.Err() != nil {
		return nil, d.Err()
	}
	lt.Rec = rec
	if d.Remaining() >= 12 {
		var dg jute.TxnDigest
		dg.Decode(d)
		if d.Err() == nil {
			lt.Digest = &dg
		}
	}
	return lt, nil
}

// holdsNoTxn reports whether a log file contains no complete transaction: it is empty, has
// a missing or zero header, only padding, or a torn first record.
func holdsNoTxn(path string) bool {
	n := 0
	err := ReadLogFile(path, func(*LoggedTxn) error { n++; return nil })
	var torn *ErrTornTail
	return n == 0 && (err == nil || errors.As(err, &torn))
}

// TruncateAt cuts a log file at off (a torn final record) and syncs it.
func TruncateAt(path string, off int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(off); err != nil {
		return err
	}
	return f.Sync()
}

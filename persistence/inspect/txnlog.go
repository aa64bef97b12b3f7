package inspect

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/zkgo/zkgo/jute"
)

// ErrPartial is returned by DumpLog when the last record lacks its end marker, as
// TxnLogToolkit's "Last transaction was partial.".
var ErrPartial = errors.New("Last transaction was partial.")

// DumpLog writes a transaction log the way `TxnLogToolkit -d FILE` prints it (the -d flag only
// selects dump mode, which is also the default). Records whose checksum fails are printed
// twice, the first time prefixed "CRC ERROR - ", as the Java tool does.
func DumpLog(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return fmt.Errorf("%s: reading the file header: %w", path, err)
	}
	if binary.BigEndian.Uint32(hdr[0:]) != 0x5A4B4C47 {
		return fmt.Errorf("Invalid magic number for %s", baseName(path))
	}
	fmt.Fprintf(bw, "ZooKeeper Transactional Log File with dbid %d txnlog format version %d\n",
		int64(binary.BigEndian.Uint64(hdr[8:])), int32(binary.BigEndian.Uint32(hdr[4:])))
	count := 0
	off := int64(16)
	for {
		var pre [12]byte
		if _, err := io.ReadFull(r, pre[:8]); err != nil {
			fmt.Fprintf(bw, "EOF reached after %d txns.\n", count)
			return nil
		}
		if _, err := io.ReadFull(r, pre[8:]); err != nil {
			fmt.Fprintf(bw, "EOF reached after %d txns.\n", count)
			return nil
		}
		crc := binary.BigEndian.Uint64(pre[:8])
		n := int32(binary.BigEndian.Uint32(pre[8:]))
		if n == 0 || n == -1 {
			fmt.Fprintf(bw, "EOF reached after %d txns.\n", count)
			return nil
		}
		if n < 0 || n > 1<<30 {
			return fmt.Errorf("%s: offset %d: bad record length %d", path, off, n)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			fmt.Fprintf(bw, "EOF reached after %d txns.\n", count)
			return nil
		}
		if uint64(adler32.Checksum(b)) != crc {
			if err := printTxn(bw, b, "CRC ERROR"); err != nil {
				return fmt.Errorf("%s: offset %d: %w", path, off, err)
			}
		}
		if err := printTxn(bw, b, ""); err != nil {
			return fmt.Errorf("%s: offset %d: %w", path, off, err)
		}
		eor, err := r.ReadByte()
		if err != nil || eor != 'B' {
			return ErrPartial
		}
		off += 13 + int64(n)
		count++
	}
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func printTxn(w io.Writer, b []byte, prefix string) error {
	r := &reader{b: b}
	clientID := r.long()
	cxid := r.int()
	zxid := r.long()
	t := r.long()
	typ := r.int()
	if r.err != nil {
		return fmt.Errorf("txn header: %w", r.err)
	}
	body, err := formatTxn(typ, r)
	if err != nil {
		return err
	}
	line := fmt.Sprintf("%s session 0x%s cxid 0x%s zxid 0x%s %s %s", javaShortLongDate(t),
		strconv.FormatUint(uint64(clientID), 16), strconv.FormatUint(uint64(int64(cxid)), 16),
		strconv.FormatUint(uint64(zxid), 16), opName(typ), body)
	if strings.TrimSpace(prefix) != "" {
		io.WriteString(w, prefix+" - ")
	}
	if !strings.HasSuffix(line, "\n") {
		line += "\n"
	}
	_, err = io.WriteString(w, line)
	return err
}

// csv is jute's ToStringOutputArchive (CsvOutputArchive before 3.6): Record.toString.
type csv struct {
	sb    strings.Builder
	first bool
}

func newCSV() *csv { return &csv{first: true} }

func (c *csv) comma() {
	if !c.first {
		c.sb.WriteByte(',')
	}
	c.first = false
}

func (c *csv) long(v int64) { c.comma(); c.sb.WriteString(strconv.FormatInt(v, 10)) }

func (c *csv) str(s string, ok bool) {
	c.comma()
	if !ok {
		c.sb.WriteString("null")
		return
	}
	c.sb.WriteString(csvString(s))
}

func (c *csv) startRecord() { c.comma(); c.sb.WriteString("s{"); c.first = true }
func (c *csv) endRecord()   { c.sb.WriteString("}"); c.first = false }
func (c *csv) startVector() { c.comma(); c.sb.WriteString("v{"); c.first = true }
func (c *csv) endVector()   { c.sb.WriteString("}"); c.first = false }

// end closes a top-level record (endRecord with an empty tag).
func (c *csv) end() string { c.sb.WriteByte('\n'); return c.sb.String() }

// csvString is jute's Utils.toCSVString.
func csvString(s string) string {
	var sb strings.Builder
	sb.WriteByte('\'')
	for _, ch := range s {
		switch ch {
		case 0:
			sb.WriteString("%00")
		case '\n':
			sb.WriteString("%0A")
		case '\r':
			sb.WriteString("%0D")
		case ',':
			sb.WriteString("%2C")
		case '}':
			sb.WriteString("%7D")
		case '%':
			sb.WriteString("%25")
		default:
			sb.WriteRune(ch)
		}
	}
	return sb.String()
}

type acl struct {
	perms      int32
	scheme, id string
	sok, idok  bool
}

func readACLs(r *reader) ([]acl, bool) {
	n := r.int()
	if n == -1 || r.err != nil {
		return nil, false
	}
	if n < 0 || int(n) > r.remaining() {
		r.err = fmt.Errorf("bad ACL count %d", n)
		return nil, false
	}
	out := make([]acl, 0, n)
	for i := int32(0); i < n && r.err == nil; i++ {
		var a acl
		a.perms = r.int()
		a.scheme, a.sok = r.str()
		a.id, a.idok = r.str()
		out = append(out, a)
	}
	return out, true
}

func (c *csv) acl(a acl) {
	c.long(int64(a.perms))
	c.startRecord()
	c.str(a.scheme, a.sok)
	c.str(a.id, a.idok)
	c.endRecord()
}

// aclListString is List<ACL>.toString: "[31,s{'world,'anyone}\n]".
func aclListString(acls []acl, ok bool) string {
	if !ok {
		return "null"
	}
	parts := make([]string, len(acls))
	for i, a := range acls {
		c := newCSV()
		c.acl(a)
		parts[i] = c.end()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func nullStr(s string, ok bool) string {
	if !ok {
		return "null"
	}
	return s
}

// formatTxn is TxnLogToolkit.getFormattedTxnStr over SerializeUtils.deserializeTxn.
func formatTxn(typ int32, r *reader) (string, error) {
	switch typ {
	case 1, 15: // create, create2: CreateTxn (a V0 CreateTxn lacks parentCVersion: -1)
		p, pok := r.str()
		data := r.buffer()
		acls, aok := readACLs(r)
		eph := r.bool()
		if r.err != nil {
			return "", fmt.Errorf("CreateTxn: %w", r.err)
		}
		pcv := int32(-1)
		if r.remaining() >= 4 {
			pcv = r.int()
		}
		return fmt.Sprintf("%s,%s,%s,%t,%d", nullStr(p, pok), javaString(data), aclListString(acls, aok), eph, pcv), nil
	case 5, 16: // setData, reconfig: SetDataTxn
		p, pok := r.str()
		data := r.buffer()
		v := r.int()
		if r.err != nil {
			return "", fmt.Errorf("SetDataTxn: %w", r.err)
		}
		return fmt.Sprintf("%s,%s,%d", nullStr(p, pok), javaString(data), v), nil
	case 19: // CreateContainerTxn
		p, pok := r.str()
		data := r.buffer()
		acls, aok := readACLs(r)
		pcv := r.int()
		if r.err != nil {
			return "", fmt.Errorf("CreateContainerTxn: %w", r.err)
		}
		return fmt.Sprintf("%s,%s,%s,%d", nullStr(p, pok), javaString(data), aclListString(acls, aok), pcv), nil
	case 21: // CreateTTLTxn
		p, pok := r.str()
		data := r.buffer()
		acls, aok := readACLs(r)
		pcv := r.int()
		ttl := r.long()
		if r.err != nil {
			return "", fmt.Errorf("CreateTTLTxn: %w", r.err)
		}
		return fmt.Sprintf("%s,%s,%s,%d,%d", nullStr(p, pok), javaString(data), aclListString(acls, aok), pcv, ttl), nil
	case 14: // MultiTxn: each sub-txn's raw bytes as a string
		n := r.int()
		if r.err != nil {
			return "", fmt.Errorf("MultiTxn: %w", r.err)
		}
		var sb strings.Builder
		for i := int32(0); i < n; i++ {
			st := r.int()
			b := r.buffer()
			if r.err != nil {
				return "", fmt.Errorf("MultiTxn: %w", r.err)
			}
			if i > 0 {
				sb.WriteByte(';')
			}
			sb.WriteString(opName(st) + ":" + javaString(b))
		}
		return sb.String(), nil
	case 2, 20: // delete, deleteContainer: DeleteTxn
		c := newCSV()
		c.str(r.str())
		if r.err != nil {
			return "", fmt.Errorf("DeleteTxn: %w", r.err)
		}
		return c.end(), nil
	case 7: // SetACLTxn
		c := newCSV()
		c.str(r.str())
		acls, _ := readACLs(r)
		v := r.int()
		if r.err != nil {
			return "", fmt.Errorf("SetACLTxn: %w", r.err)
		}
		c.startVector()
		for _, a := range acls {
			c.startRecord()
			c.acl(a)
			c.endRecord()
		}
		c.endVector()
		c.long(int64(v))
		return c.end(), nil
	case -10: // CreateSessionTxn
		v := r.int()
		if r.err != nil {
			return "", fmt.Errorf("CreateSessionTxn: %w", r.err)
		}
		c := newCSV()
		c.long(int64(v))
		return c.end(), nil
	case -11: // CloseSessionTxn (none in 3.5 or with closeSessionTxn.enabled=false)
		if !jute.CloseSessionHasBody(r.b[r.off:]) {
			return "", nil
		}
		n := r.int()
		c := newCSV()
		c.startVector()
		for i := int32(0); i < n && r.err == nil; i++ {
			c.str(r.str())
		}
		c.endVector()
		if r.err != nil {
			return "", fmt.Errorf("CloseSessionTxn: %w", r.err)
		}
		return c.end(), nil
	case -1: // ErrorTxn
		v := r.int()
		if r.err != nil {
			return "", fmt.Errorf("ErrorTxn: %w", r.err)
		}
		c := newCSV()
		c.long(int64(v))
		return c.end(), nil
	case 13:
		// A top-level check logged by 3.8.0 (see vectors README): 3.8's TxnLogToolkit stops
		// with "Unsupported Txn with type=%d13"; we print the CheckVersionTxn instead.
		c := newCSV()
		c.str(r.str())
		v := r.int()
		if r.err != nil {
			return "", fmt.Errorf("CheckVersionTxn: %w", r.err)
		}
		c.long(int64(v))
		return c.end(), nil
	}
	return "", fmt.Errorf("Unsupported Txn with type=%%d%d", typ)
}

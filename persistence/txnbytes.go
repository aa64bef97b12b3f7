package persistence

import (
	"encoding/binary"
	"hash/adler32"
)

// DecodeTxn decodes a txn as a proposal carries it (TxnHeader, record, optional TxnDigest).
func DecodeTxn(raw []byte) (*LoggedTxn, error) { return decodeLogged(raw) }

// FrameTxn frames txn bytes (as a proposal carries them) as a log record for AppendRecord.
func FrameTxn(raw []byte) []byte {
	b := make([]byte, 12, 12+len(raw)+1)
	binary.BigEndian.PutUint64(b[0:], uint64(adler32.Checksum(raw)))
	binary.BigEndian.PutUint32(b[8:], uint32(len(raw)))
	b = append(b, raw...)
	return append(b, endOfRec)
}

// RecordTxn returns the txn bytes inside a record framed by EncodeRecord or FrameTxn.
func RecordTxn(record []byte) []byte { return record[12 : len(record)-1] }

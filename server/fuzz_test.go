package server

import (
	"testing"

	"github.com/zkgo/zkgo/jute"
)

// FuzzDecodeMulti feeds arbitrary multi / multiRead bodies to the decoder: it must never
// panic, and every op it accepts must be of the allowed kind.
func FuzzDecodeMulti(f *testing.F) {
	e := jute.NewEncoder(64)
	(&jute.MultiHeader{Type: jute.OpCreate, Err: -1}).Encode(e)
	(&jute.CreateRequest{Path: "/a", Data: []byte("x"), ACL: jute.OpenACLUnsafe}).Encode(e)
	(&jute.MultiHeader{Type: jute.OpCheck, Err: -1}).Encode(e)
	(&jute.PathVersionRequest{Path: "/a", Version: 1}).Encode(e)
	(&jute.MultiHeader{Type: jute.OpCreateTTL, Err: -1}).Encode(e)
	(&jute.CreateRequest{Path: "/t", ACL: jute.OpenACLUnsafe, Flags: 5, TTL: 10, HasTTL: true}).Encode(e)
	(&jute.MultiHeader{Type: -1, Done: true, Err: -1}).Encode(e)
	f.Add(e.B, false)
	r := jute.NewEncoder(64)
	(&jute.MultiHeader{Type: jute.OpGetData, Err: -1}).Encode(r)
	(&jute.PathWatchRequest{Path: "/a"}).Encode(r)
	(&jute.MultiHeader{Type: -1, Done: true, Err: -1}).Encode(r)
	f.Add(r.B, true)
	f.Fuzz(func(t *testing.T, b []byte, read bool) {
		ops, code := decodeMulti(b, read)
		if code != jute.OK {
			return
		}
		for _, op := range ops {
			isRead := op.typ == jute.OpGetData || op.typ == jute.OpGetChildren
			if isRead != read {
				t.Fatalf("op %d accepted in a multi with read=%v", op.typ, read)
			}
		}
	})
}

// FuzzDigestMD5Response: any client response to the DIGEST-MD5 challenge is either accepted
// (only with the right password) or refused; never a panic.
func FuzzDigestMD5Response(f *testing.F) {
	f.Add([]byte(`charset=utf-8,username="jaasuser",realm="zk-sasl-md5",nonce="x",nc=00000001,cnonce="y",digest-uri="zookeeper/zk-sasl-md5",maxbuf=65536,response=0123456789abcdef0123456789abcdef,qop=auth`))
	f.Add([]byte(`username="a\"b",realm=,nonce="",response=`))
	f.Fuzz(func(t *testing.T, resp []byte) {
		d := newDigestMD5(func(u string) (string, bool) { return "pw", u == "jaasuser" })
		d.evaluate(nil) // the challenge
		d.evaluate(resp)
	})
}

// FuzzJAAS: the JAAS parser accepts or refuses any text without panicking.
func FuzzJAAS(f *testing.F) {
	f.Add(`Server { org.apache.zookeeper.server.auth.DigestLoginModule required user_super="s" user_bob="b"; };`)
	f.Add(`/* c */ Server { a.B required x=${user.home} y="q\"z"; }; Client { c.D optional; };`)
	f.Fuzz(func(t *testing.T, text string) {
		parseJAAS(text, func(string) (string, bool) { return "", false })
	})
}

package server

import "testing"

// The quorum learner's DIGEST-MD5 client against the server mechanism, with the quorum's
// protocol and server name: the right password completes on both sides, a wrong one fails.
func TestDigestMD5ClientServer(t *testing.T) {
	users := map[string]string{"test": "mypassword"}
	lookup := func(u string) (string, bool) { pw, ok := users[u]; return pw, ok }
	for _, c := range []struct {
		password string
		ok       bool
	}{{"mypassword", true}, {"wrong", false}} {
		srv := NewDigestMD5Server("zookeeper-quorum", "zk-quorum-sasl-md5", lookup)
		cli := NewDigestMD5Client("test", c.password, "zookeeper-quorum", "zk-quorum-sasl-md5")
		challenge, err := srv.Evaluate(nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := cli.Evaluate(challenge)
		if err != nil {
			t.Fatal(err)
		}
		rspauth, err := srv.Evaluate(resp)
		if !c.ok {
			if err == nil || srv.Complete() {
				t.Fatalf("wrong password accepted: %q", rspauth)
			}
			continue
		}
		if err != nil || !srv.Complete() || srv.User() != "test" {
			t.Fatalf("server: %v complete=%v user=%q", err, srv.Complete(), srv.User())
		}
		if out, err := cli.Evaluate(rspauth); err != nil || out != nil || !cli.Complete() {
			t.Fatalf("client on rspauth: %q %v %v", out, err, cli.Complete())
		}
	}
	// A server that does not know the password cannot pass the client's rspauth check.
	cli := NewDigestMD5Client("test", "mypassword", "zookeeper-quorum", "zk-quorum-sasl-md5")
	srv := NewDigestMD5Server("zookeeper-quorum", "zk-quorum-sasl-md5", lookup)
	ch, _ := srv.Evaluate(nil)
	cli.Evaluate(ch)
	if _, err := cli.Evaluate([]byte("rspauth=0123456789abcdef0123456789abcdef")); err == nil || cli.Complete() {
		t.Fatal("a forged rspauth was accepted")
	}
}

// A quorum member's challenge and rspauth, whatever they hold, end in a response or an
// error, and a forged rspauth never completes the exchange.
func FuzzDigestMD5Client(f *testing.F) {
	f.Add([]byte(`realm="zk-quorum-sasl-md5",nonce="OA6MG9tEQGm2hh",charset=utf-8,algorithm=md5-sess`), []byte("rspauth=0123456789abcdef0123456789abcdef"))
	f.Add([]byte(`nonce="x",qop="auth-int"`), []byte(""))
	f.Fuzz(func(t *testing.T, challenge, rspauth []byte) {
		c := NewDigestMD5Client("test", "mypassword", "zookeeper-quorum", "zk-quorum-sasl-md5")
		if _, err := c.Evaluate(challenge); err != nil {
			return
		}
		if _, err := c.Evaluate(rspauth); err == nil && !c.Complete() {
			t.Fatal("rspauth accepted without completing")
		}
	})
}

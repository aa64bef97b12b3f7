package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/internal/zktest"
	"github.com/zkgo/zkgo/jute"
)

// authTranscript runs a script of ACLs, addauths and requests on fresh connections to addr
// and writes down every answer, and whether the server closed the connection after it.
type authTranscript struct {
	t     *testing.T
	addr  string
	lines []string
}

func (a *authTranscript) conn(name string) *rawzk.Conn {
	c, err := rawzk.Dial(a.addr, rawzk.ConnectOptions{})
	if err != nil {
		a.t.Fatalf("%s: %v", name, err)
	}
	a.t.Cleanup(func() { c.Close() })
	return c
}

// do sends op on c and records "name: code [closed]"; a connection closed without an
// answer records "name: closed".
func (a *authTranscript) do(c *rawzk.Conn, name string, op int32, body []byte) rawzk.Packet {
	p, err := c.Call(op, body)
	line := name + ": "
	switch {
	case err == rawzk.ErrClosed:
		line += "closed"
	case err != nil:
		a.t.Fatalf("%s: %v", name, err)
	default:
		line += fmt.Sprint(p.Hdr.Err)
		if p.Hdr.Err != 0 && c.WaitClosed(500*time.Millisecond) {
			line += " closed"
		}
	}
	a.lines = append(a.lines, line)
	return p
}

func (a *authTranscript) create(c *rawzk.Conn, path string, id jute.Id) {
	acl := []jute.ACL{{Perms: jute.PermAll, Id: id}}
	a.do(c, "create "+path+" "+id.Scheme+":"+id.ID, jute.OpCreate, rawzk.CreateBody(path, nil, acl, 0))
}

func (a *authTranscript) auth(name, scheme, cred string) {
	a.do(a.conn(name), name+" addauth "+scheme, jute.OpAuth, rawzk.AuthBody(scheme, []byte(cred)))
}

func (a *authTranscript) whoAmI(c *rawzk.Conn) {
	p := a.do(c, "whoami", jute.OpWhoAmI, nil)
	d := jute.NewDecoder(p.Body)
	n := d.Int()
	for i := int32(0); i < n && d.Err() == nil; i++ {
		a.lines = append(a.lines, "  "+d.String()+" user="+d.String())
	}
}

func (a *authTranscript) mntr(keys ...string) {
	for _, k := range keys {
		a.lines = append(a.lines, fmt.Sprintf("%s %d", k, mntrValue(a.t, a.addr, k)))
	}
}

// Which ACL schemes a server knows, what addauth does with each, whoami's users and
// zookeeper.enforce.auth.*, side by side with Apache ZooKeeper 3.8 on the same settings:
// by default only ip and digest have providers (sasl and x509 ACLs are INVALIDACL, their
// addauth AUTHFAILED), zookeeper.authProvider.* adds SASL's and Ensemble's, and with
// enforcement a connection may send nothing but authentication until it has a required
// scheme's id.
func TestAuthProvidersSideBySide(t *testing.T) {
	if !zktest.ApacheAvailable() {
		t.Fatal("Apache ZooKeeper is not installed (apt-get install -y zookeeper)")
	}
	digestID := jute.Id{Scheme: "digest", ID: DigestID("u:p")}
	aclScript := func(a *authTranscript) {
		c := a.conn("acls")
		a.create(c, "/acl-sasl", jute.Id{Scheme: "sasl", ID: "bob"})
		a.create(c, "/acl-x509", jute.Id{Scheme: "x509", ID: "CN=a"})
		a.create(c, "/acl-ip", jute.Id{Scheme: "ip", ID: "127.0.0.1"})
		a.create(c, "/acl-ensemble", jute.Id{Scheme: "ensemble", ID: "east"})
		a.create(c, "/acl-digest", digestID)
		a.create(c, "/acl-auth-before", jute.Id{Scheme: "auth", ID: ""})
		a.do(c, "addauth ip", jute.OpAuth, rawzk.AuthBody("ip", nil))
		a.do(c, "addauth digest", jute.OpAuth, rawzk.AuthBody("digest", []byte("u:p")))
		a.whoAmI(c)
		a.create(c, "/acl-auth", jute.Id{Scheme: "auth", ID: ""})
		p := a.do(c, "getACL /acl-auth", jute.OpGetACL, rawzk.PathBody("/acl-auth"))
		d := jute.NewDecoder(p.Body)
		for _, acl := range jute.DecodeACLs(d) {
			a.lines = append(a.lines, fmt.Sprintf("  %d %s:%s", acl.Perms, acl.Id.Scheme, acl.Id.ID))
		}
		a.auth("c2", "ensemble", "")
		a.auth("c3", "ensemble", "east")
		a.auth("c4", "ensemble", "north")
		a.auth("c5", "x509", "")
		a.auth("c6", "sasl", "x")
		a.auth("c7", "nosuch", "x")
		a.mntr("zk_ensemble_auth_success", "zk_ensemble_auth_fail", "zk_ensemble_auth_skip")
	}
	enforceScript := func(a *authTranscript) {
		a.do(a.conn("c1"), "c1 exists", jute.OpExists, rawzk.PathWatchBody("/", false))
		a.do(a.conn("c2"), "c2 ping", jute.OpPing, nil)
		c := a.conn("c3")
		a.do(c, "c3 addauth ip", jute.OpAuth, rawzk.AuthBody("ip", nil))
		a.do(c, "c3 exists", jute.OpExists, rawzk.PathWatchBody("/", false))
		c = a.conn("c4")
		a.do(c, "c4 addauth digest", jute.OpAuth, rawzk.AuthBody("digest", []byte("u:p")))
		a.do(c, "c4 exists", jute.OpExists, rawzk.PathWatchBody("/", false))
		a.do(c, "c4 whoami", jute.OpWhoAmI, nil)
	}
	for _, tc := range []struct {
		name   string
		props  map[string]string // zkgo's; Apache gets them as zoo.cfg lines without "zookeeper."
		script func(*authTranscript)
		want   []string // lines both must have
	}{
		{"defaults", nil, aclScript, []string{
			"create /acl-sasl sasl:bob: -114", "create /acl-x509 x509:CN=a: -114", // INVALIDACL
			"create /acl-ip ip:127.0.0.1: 0", "c6 addauth sasl: -115 closed", "c2 addauth ensemble: -115 closed", // AUTHFAILED
		}},
		{"sasl and ensemble providers", map[string]string{
			"zookeeper.authProvider.1":   "org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
			"zookeeper.authProvider.2":   "org.apache.zookeeper.server.auth.EnsembleAuthenticationProvider",
			"zookeeper.ensembleAuthName": "east,west",
		}, aclScript, []string{
			"create /acl-sasl sasl:bob: 0", "create /acl-ensemble ensemble:east: -114",
			"c3 addauth ensemble: 0", "c4 addauth ensemble: closed", "zk_ensemble_auth_fail 1",
		}},
		{"enforced digest", map[string]string{
			"zookeeper.enforce.auth.enabled": "true",
			"zookeeper.enforce.auth.schemes": "digest",
		}, enforceScript, []string{
			"c1 exists: -124 closed", "c4 exists: 0", // SESSIONCLOSEDREQUIRESASLAUTH
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			props := map[string]string{"zookeeper.4lw.commands.whitelist": "*"}
			var lines []string
			for k, v := range tc.props {
				props[k] = v
				lines = append(lines, strings.TrimPrefix(k, "zookeeper.")+"="+v)
			}
			_, addr := startServer(t, props)
			z := &authTranscript{t: t, addr: addr}
			tc.script(z)
			a := &authTranscript{t: t, addr: zktest.StartApache(t, lines...)}
			tc.script(a)
			if got, want := strings.Join(z.lines, "\n"), strings.Join(a.lines, "\n"); got != want {
				t.Fatalf("zkgo:\n%s\nApache ZooKeeper:\n%s", got, want)
			}
			for _, w := range tc.want {
				if !strings.Contains("\n"+strings.Join(z.lines, "\n")+"\n", "\n"+w+"\n") {
					t.Errorf("no %q in\n%s", w, strings.Join(z.lines, "\n"))
				}
			}
		})
	}
}

// Settings ZooKeeper's server refuses to start with, and provider classes zkgo cannot run.
func TestAuthConfigRefused(t *testing.T) {
	for _, c := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"zookeeper.sessionRequireClientSASLAuth": "true"}, "Authentication scheme sasl is not available."},
		{map[string]string{"zookeeper.enforce.auth.enabled": "true"}, "zookeeper.enforce.auth.schemes must be"},
		{map[string]string{"zookeeper.enforce.auth.enabled": "true", "zookeeper.enforce.auth.schemes": "digest,x509"}, "Authentication scheme x509 is not available."},
		{map[string]string{"zookeeper.authProvider.1": "com.example.MyProvider"}, "com.example.MyProvider: zkgo cannot load Java classes"},
		// String.split keeps a blank last part, which names no scheme.
		{map[string]string{"zookeeper.enforce.auth.enabled": "true", "zookeeper.enforce.auth.schemes": "digest, "}, "Authentication scheme  is not available."},
	} {
		err := CheckAuth(testConfig(t, t.TempDir(), c.props))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.props, err, c.want)
		}
	}
	for _, ok := range []map[string]string{{
		"zookeeper.sessionRequireClientSASLAuth": "true",
		"zookeeper.authProvider.sasl":            "org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
	}, {
		// ... and drops empty trailing parts.
		"zookeeper.enforce.auth.enabled": "true", "zookeeper.enforce.auth.schemes": "ip,digest,,",
	}} {
		if err := CheckAuth(testConfig(t, t.TempDir(), ok)); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
}

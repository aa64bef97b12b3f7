package difftest

import (
	"fmt"
	"testing"
	"time"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/jute"
)

func TestScratch(t *testing.T) {
	for _, name := range []string{"apache", "zkgo"} {
		var addr string
		if name == "apache" {
			addr = startApache(t)
		} else {
			addr = startZkgo(t)
		}
		open := []jute.ACL{{Perms: 31, Id: jute.Id{Scheme: "world", ID: "anyone"}}}
		dial := func(sid int64, pw []byte) *rawzk.Conn {
			c, err := rawzk.Dial(addr, rawzk.ConnectOptions{SessionID: sid, Passwd: pw})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		s0 := dial(0, nil)
		s1, _ := rawzk.Dial(addr, rawzk.ConnectOptions{NoReadOnly: true})
		s0.Call(jute.OpAuth, rawzk.AuthBody("digest", []byte("alice:secret")))
		s2 := dial(0, nil)
		s2.Call(jute.OpCreate, rawzk.CreateBody("/r", nil, open, 0))
		s2.Call(jute.OpCreate, rawzk.CreateBody("/r/t", []byte("v45"), open, 4))
		id0, pw0 := s0.SessionID(), s0.Passwd()
		id1, pw1 := s1.SessionID(), s1.Passwd()
		s0.Close()
		s1.Close()
		time.Sleep(100 * time.Millisecond)
		s1 = dial(id1, pw1)
		p, _ := s1.Call(jute.OpSetWatches2, rawzk.SetWatchesBody(jute.SetWatches{V2: true, RelativeZxid: s2.LastZxid(), DataWatches: []string{"/r", "/r/a", "/r/a/b/c", "/r/c", "/r/q"}, ExistWatches: []string{"/r", "/r/e", "/r/t"}, ChildWatches: []string{"/r/c", "/r/t"}, PersistentWatches: []string{"/r/a"}, PersistentRecursive: []string{"/r/a", "/r/a/b", "/r/a/b/c", "/r/e", "/r/q"}}))
		fmt.Println(name, "sw2", p.Hdr.Err)
		s0 = dial(id0, pw0)
		p, _ = s0.Call(jute.OpSetWatches, rawzk.SetWatchesBody(jute.SetWatches{RelativeZxid: 0, DataWatches: []string{"/r/a/b", "/r/a/b/c", "/r/c/d"}, ExistWatches: []string{"/r/a/b/c", "/r/q"}, ChildWatches: []string{"/r/a", "/r/a/b", "/r/c/d", "/r/e", "/r/t"}}))
		fmt.Println(name, "sw", p.Hdr.Err)
		s2.Call(jute.OpCreate, rawzk.CreateBody("/r/e", nil, open, 0))
		s0.Call(jute.OpPing, nil)
		s1.Call(jute.OpPing, nil)
		for i, c := range []*rawzk.Conn{s0, s1, s2} {
			for _, p := range c.Packets() {
				if p.IsNotification() {
					fmt.Printf("%s s%d %q\n", name, i, p.Body)
				}
			}
		}
	}
}

package config

import (
	"strings"
	"testing"
)

// A hierarchical QuorumVerifier string as QuorumHierarchical.toString writes it: server
// lines, groups with their servers in id order, weights (participants without a weight
// line get 1), version. It parses and prints back identically.
func TestHierarchicalVerifierRoundTrip(t *testing.T) {
	text := "server.1=127.0.0.1:2001:3001:participant;127.0.0.1:4001\n" +
		"server.2=127.0.0.1:2002:3002:participant;127.0.0.1:4002\n" +
		"server.3=127.0.0.1:2003:3003:participant;127.0.0.1:4003\n" +
		"server.4=127.0.0.1:2004:3004:observer;127.0.0.1:4004\n" +
		"group.1=1:2\n" +
		"group.2=3\n" +
		"weight.1=1\n" +
		"weight.2=1\n" +
		"weight.3=0\n" +
		"version=100000002"
	v, err := ParseVerifier([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if !v.Hierarchical() || v.Version != 0x100000002 || len(v.Servers) != 4 || v.Weights[3] != 0 || len(v.Groups[1]) != 2 {
		t.Fatalf("parsed %+v", v)
	}
	if got := v.String(v.Version); got != text {
		t.Fatalf("printed\n%s\nwant\n%s", got, text)
	}

	// Group members out of order and a missing weight line: printed in order, weight 1.
	v, err = ParseVerifier([]byte(strings.Replace(strings.Replace(text, "group.1=1:2", "group.1=2:1", 1), "weight.2=1\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := v.String(v.Version); got != text {
		t.Fatalf("printed\n%s\nwant\n%s", got, text)
	}

	// A majority configuration prints no group or weight lines.
	v, err = ParseVerifier([]byte("server.1=127.0.0.1:2001:3001:participant\nversion=0"))
	if err != nil || v.Hierarchical() || v.String(0) != "server.1=127.0.0.1:2001:3001:participant\nversion=0" {
		t.Fatalf("majority: %+v %v", v, err)
	}
}

func TestHierarchicalVerifierErrors(t *testing.T) {
	servers := "server.1=127.0.0.1:2001:3001\nserver.2=127.0.0.1:2002:3002\n"
	for _, c := range []struct{ text, want string }{
		{servers + "group.1=1", "server 2 is not in a group"},
		{servers + "group.1=1:2\ngroup.2=2", "server 2 is in multiple groups"},
		{servers + "group.1=1:x", `invalid server id "x"`},
		{servers + "group.1=1:2\nweight.1=heavy", `invalid weight "heavy"`},
		{servers + "weight.1=1", "server 1 is not in a group"},
	} {
		_, err := ParseVerifier([]byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.text, err, c.want)
		}
	}
}

// FuzzParseVerifier: QuorumVerifier strings come from other servers (election notifications,
// NEWLEADER, reconfig txns). No input panics, and what parses prints back to a string that
// parses to the same configuration.
func FuzzParseVerifier(f *testing.F) {
	f.Add([]byte("server.1=127.0.0.1:2001:3001:participant;127.0.0.1:4001\nserver.2=[::1]:2002:3002:observer\nversion=100000002"))
	f.Add([]byte("server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\ngroup.1=1:2\ngroup.2=3\nweight.1=2\nweight.3=0\nversion=0"))
	f.Add([]byte("server.1=a:1:2|b:3:4;5\nversion=ffffffffffff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseVerifier(data)
		if err != nil {
			return
		}
		text := v.String(v.Version)
		w, err := ParseVerifier([]byte(text))
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", data, text, err)
		}
		if again := w.String(w.Version); again != text {
			t.Fatalf("%q printed as %q, then as %q", data, text, again)
		}
	})
}

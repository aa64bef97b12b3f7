package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// QuorumAddr is one host:quorumPort:electionPort of a server line.
type QuorumAddr struct {
	Host         string
	QuorumPort   int // followers connect to the leader here
	ElectionPort int // leader election
}

// ServerSpec is a parsed server.N line:
//
//	host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort]
//
// with "|"-separated addresses when multiAddress is enabled. IPv6 hosts are
// written in brackets.
type ServerSpec struct {
	ID int64
	// Addrs has at least one element; Host/QuorumPort/ElectionPort repeat
	// the first for the common single-address case.
	Addrs        []QuorumAddr
	Host         string
	QuorumPort   int
	ElectionPort int
	Type         LearnerType
	// ClientAddr/ClientPort come from the ";" part: "0.0.0.0" when only a
	// port is given; ClientPort 0 when there is no ";" part.
	ClientAddr string
	ClientPort int
}

const wrongFormat = "does not have the form server_config or server_config;client_config" +
	" where server_config is the pipe separated list of host:port:port or host:port:port:type" +
	" and client_config is port or host:port"

// ParseServerSpec parses the value of server.<id> like QuorumPeer.QuorumServer.
func ParseServerSpec(id int64, value string, multiAddress bool) (*ServerSpec, error) {
	s := &ServerSpec{ID: id}
	serverClient := javaSplit(value, ";")
	if len(serverClient) == 0 || len(serverClient) > 2 {
		return nil, fmt.Errorf("%q %s", value, wrongFormat)
	}
	if len(serverClient) == 2 {
		parts, err := hostAndPort(serverClient[1])
		if err != nil {
			return nil, err
		}
		if len(parts) == 0 || len(parts) > 2 {
			// none: ":" splits into nothing (Java's would throw out of bounds)
			return nil, fmt.Errorf("%q %s", value, wrongFormat)
		}
		host := "0.0.0.0"
		if len(parts) == 2 {
			host = parts[0]
		}
		port, err := parsePort(parts[len(parts)-1])
		if err != nil {
			return nil, fmt.Errorf("client address %s: %v", serverClient[1], err)
		}
		s.ClientAddr, s.ClientPort = host, port
	}
	addrs := javaSplit(serverClient[0], "|")
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%q %s", value, wrongFormat) // "|" splits into nothing
	}
	if !multiAddress && len(addrs) > 1 {
		return nil, fmt.Errorf("multiple address feature is disabled, but multiple addresses were specified for sid %d", id)
	}
	typeSet := false
	for _, a := range addrs {
		parts, err := hostAndPort(a)
		if err != nil {
			return nil, err
		}
		if len(parts) < 3 || len(parts) > 4 {
			return nil, fmt.Errorf("%q %s", value, wrongFormat)
		}
		qa := QuorumAddr{Host: parts[0]}
		if qa.QuorumPort, err = parsePort(parts[1]); err != nil {
			return nil, fmt.Errorf("quorum port of %s: %v", a, err)
		}
		if qa.ElectionPort, err = parsePort(parts[2]); err != nil {
			return nil, fmt.Errorf("election port of %s: %v", a, err)
		}
		if qa.QuorumPort == qa.ElectionPort {
			return nil, fmt.Errorf("quorum and election port must be different (server.%d)", id)
		}
		if len(parts) == 4 {
			var t LearnerType
			switch strings.ToLower(javaTrim(parts[3])) {
			case "observer":
				t = Observer
			case "participant":
				t = Participant
			default:
				return nil, fmt.Errorf("unrecognised peertype %q", parts[3])
			}
			if typeSet && t != s.Type {
				return nil, fmt.Errorf("multiple addresses should have similar roles: %s vs %s", s.Type, t)
			}
			s.Type, typeSet = t, true
		}
		s.Addrs = append(s.Addrs, qa)
	}
	s.Host, s.QuorumPort, s.ElectionPort = s.Addrs[0].Host, s.Addrs[0].QuorumPort, s.Addrs[0].ElectionPort
	return s, nil
}

// parsePort is Integer.parseInt plus InetSocketAddress's range check.
func parsePort(s string) (int, error) {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	if n < 0 || n > 65535 {
		return 0, fmt.Errorf("port out of range: %d", n)
	}
	return int(n), nil
}

// hostAndPort is ConfigUtils.getHostAndPort: "[v6]:a:b" or "host:a:b".
func hostAndPort(s string) ([]string, error) {
	if !strings.HasPrefix(s, "[") {
		return javaSplit(s, ":"), nil
	}
	i := strings.IndexByte(s, ']')
	if i < 0 {
		return nil, fmt.Errorf("%s starts with '[' but has no matching ']:'", s)
	}
	if i+2 == len(s) {
		return nil, fmt.Errorf("%s doesn't have a port after colon", s)
	}
	if i+2 < len(s) {
		return append([]string{s[1:i]}, javaSplit(s[i+2:], ":")...), nil
	}
	return []string{strings.NewReplacer("[", "", "]", "").Replace(s)}, nil
}

// String renders the spec the way QuorumServer.toString does (the form of
// the "membership:" lines of conf and of dynamic config files).
func (s *ServerSpec) String() string {
	var b strings.Builder
	addrs := append([]QuorumAddr(nil), s.Addrs...)
	sort.SliceStable(addrs, func(i, j int) bool { return addrs[i].Host < addrs[j].Host })
	for i, a := range addrs {
		if i > 0 {
			b.WriteByte('|')
		}
		fmt.Fprintf(&b, "%s:%d:%d", bracketHost(a.Host), a.QuorumPort, a.ElectionPort)
	}
	b.WriteString(":" + s.Type.String())
	if s.ClientPort != 0 {
		fmt.Fprintf(&b, ";%s:%d", bracketHost(s.ClientAddr), s.ClientPort)
	}
	return b.String()
}

func bracketHost(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// ParseServerLine parses "server.N" = "host:port:port[:type][;client]".
func ParseServerLine(key, value string) (*ServerSpec, error) {
	idText, ok := strings.CutPrefix(key, "server.")
	if !ok {
		return nil, fmt.Errorf("%q is not a server line", key)
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id < 0 {
		return nil, fmt.Errorf("bad server id %q", idText)
	}
	return ParseServerSpec(id, value, false)
}

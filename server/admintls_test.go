package server

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkgo/zkgo/internal/zktest"
)

// zookeeper.admin.forceHttps and zookeeper.admin.portUnification, side by side with Apache
// ZooKeeper 3.8's Jetty AdminServer on the quorum key store: over HTTPS both answer with
// Strict-Transport-Security; plain HTTP gets no command answer with forceHttps, and one
// without that header with port unification.
func TestAdminServerTLS(t *testing.T) {
	if !zktest.ApacheAvailable() {
		t.Fatal("Apache ZooKeeper is not installed (apt-get install -y zookeeper)")
	}
	abs := func(name string) string {
		p, err := filepath.Abs(tlsStore(name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	stores := map[string]string{
		"ssl.quorum.keyStore.location":   abs("server.p12"),
		"ssl.quorum.keyStore.password":   "secret",
		"ssl.quorum.trustStore.location": abs("truststore.p12"),
		"ssl.quorum.trustStore.password": "secret",
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
	// probe answers "ok <hsts> <TLS version>" for a command answer, "no" for anything else.
	probe := func(url string) string {
		resp, err := client.Get(url + "/commands/ruok")
		if err != nil {
			return "no"
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return "no"
		}
		v := "plain"
		if resp.TLS != nil {
			v = tls.VersionName(resp.TLS.Version)
		}
		return "ok " + resp.Header.Get("Strict-Transport-Security") + " " + v
	}
	for _, mode := range []string{"forceHttps", "portUnification"} {
		t.Run(mode, func(t *testing.T) {
			props := map[string]string{"zookeeper.admin.enableServer": "true", "zookeeper.admin.serverAddress": "127.0.0.1",
				"zookeeper.admin.serverPort": "0", "zookeeper.admin." + mode: "true", "zookeeper.4lw.commands.whitelist": "mntr"}
			lines := []string{"admin." + mode + "=true", "4lw.commands.whitelist=mntr"}
			for k, v := range stores {
				props["zookeeper."+k] = v
				lines = append(lines, k+"="+v)
			}
			s, ourClient := startServer(t, props)
			if s.AdminAddr() == nil {
				t.Fatal("AdminServer not running")
			}
			ours := s.AdminAddr().String()
			apacheClient, apacheURL := zktest.StartApacheAdmin(t, lines...)
			apache := strings.TrimPrefix(apacheURL, "http://")
			// Jetty may start a moment after the client port.
			for deadline := time.Now().Add(20 * time.Second); probe("https://"+apache) == "no"; time.Sleep(200 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("Apache's AdminServer does not answer over HTTPS")
				}
			}
			var got, want []string
			for _, scheme := range []string{"https://", "http://"} {
				got = append(got, scheme+" "+probe(scheme+ours))
				want = append(want, scheme+" "+probe(scheme+apache))
			}
			got = append(got, fmt.Sprint("insecure_admin_count ", mntrValue(t, ourClient, "zk_insecure_admin_count")))
			want = append(want, fmt.Sprint("insecure_admin_count ", mntrValue(t, apacheClient, "zk_insecure_admin_count")))
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("zkgo %q, Apache %q", got, want)
			}
			if !strings.HasPrefix(got[0], "https:// ok max-age=") {
				t.Fatalf("zkgo over HTTPS: %q", got[0])
			}
		})
	}
}

package keyserver

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postseal/postseal/store"
)

// A reader of the phone page that stops reading, over real TCP: a client
// with a small receive buffer asks for a page of several megabytes, reads
// its status line and nothing more. The page must keep its pace
// (Config.PageStall per pageChunk), so the server cuts that connection and
// the only page slot serves the next reader.

// largeArmour is an armoured payload of about n bytes.
func largeArmour(n int) []byte {
	var b bytes.Buffer
	b.WriteString("-----BEGIN PGP MESSAGE-----\r\n\r\n")
	line := strings.Repeat("wy4ECQMI", 8) + "\r\n"
	for b.Len() < n {
		b.WriteString(line)
	}
	b.WriteString("-----END PGP MESSAGE-----")
	return b.Bytes()
}

// dialSmallBuffer connects from local address from with a 4 KiB receive
// buffer, set before the connection is made so the window stays small.
func dialSmallBuffer(t *testing.T, addr, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestPhoneNonReaderIsCutOff(t *testing.T) {
	const stall = 300 * time.Millisecond
	f := newFixture(t, func(c *Config) { c.OpenConcurrency, c.PageStall = 1, stall })
	payload := largeArmour(8 << 20)
	now := f.clock.Now()
	e := store.Envelope{ID: "phonebig1", Sender: "doctor@example.org", Recipients: []string{"pat@ext.example"}, Kind: store.KindKeyService,
		Created: now, Subject: "Scans", Online: &store.OnlineCopy{Payload: payload, Meta: `{}`, Expires: now.Add(time.Hour)}}
	if err := f.st.PutEnvelope(context.Background(), e, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(f.srv)
	// The non-reader's connection closed by the server: its handler has
	// returned (and given its slot back) before net/http closes it.
	cut := make(chan struct{})
	var slow net.Addr
	ts.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateClosed && slow != nil && c.RemoteAddr().String() == slow.String() {
			close(cut)
		}
	}
	ts.Start()
	t.Cleanup(ts.Close) // after the slow connection is closed (cleanups run last first)

	conn := dialSmallBuffer(t, ts.Listener.Addr().String(), "127.0.0.1")
	slow = conn.LocalAddr()
	start := time.Now()
	if _, err := io.WriteString(conn, "GET /m/phonebig1 HTTP/1.1\r\nHost: keys.example.org\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// The status line: the handler holds the slot and is writing. Then
	// this client reads nothing more.
	status := make([]byte, len("HTTP/1.1 200"))
	_ = conn.SetReadDeadline(time.Now().Add(answerWithin))
	if _, err := io.ReadFull(conn, status); err != nil || string(status) != "HTTP/1.1 200" {
		t.Fatalf("the non-reader's answer: %q %v; want 200", status, err)
	}
	select {
	case <-cut:
	case <-time.After(answerWithin):
		t.Fatalf("a client that stopped reading a %d-byte page still holds its connection (and the page slot) after %v", len(payload), answerWithin)
	}
	if took := time.Since(start); took < stall {
		t.Errorf("cut off after %v, before the stall allowed (%v)", took, stall)
	}

	// Another client (another address) is now served the whole page.
	other := &http.Client{Timeout: answerWithin, Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
	resp, err := other.Get(ts.URL + "/m/phonebig1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || err != nil || !bytes.Contains(page, payload[len(payload)-4096:]) {
		t.Errorf("the next reader: %d, %d bytes, %v; want 200 with the whole payload", resp.StatusCode, len(page), err)
	}
	other.CloseIdleConnections()
}

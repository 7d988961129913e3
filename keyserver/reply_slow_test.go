package keyserver

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Slow clients on the reply endpoint, over real TCP connections to a real
// HTTP server: the token is checked before the body is read and before a
// reply slot is taken, and a trickled body is cut off at the reply's read
// time with a JSON answer.

const slowBoundary = "slowclientboundary"

// answerWithin bounds every wait for an answer in these tests: a server
// that never answers fails the test instead of hanging it.
const answerWithin = 10 * time.Second

// slowClient is a client that sent a reply request's header and the first
// bytes of its body, and sends nothing more.
type slowClient struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

// startSlowReply connects to ts and sends the header of a reply to
// envelope id (declaring a body larger than it will send). With expect, it
// asks for 100 Continue and waits for it: the handler is then reading the
// body. Then it sends head and stops.
func startSlowReply(t *testing.T, ts *httptest.Server, id, head string, expect bool) *slowClient {
	t.Helper()
	return startSlowReplyFrom(t, ts, "127.0.0.1", id, head, expect)
}

// startSlowReplyFrom is startSlowReply from local address from.
func startSlowReplyFrom(t *testing.T, ts *httptest.Server, from, id, head string, expect bool) *slowClient {
	t.Helper()
	conn, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &slowClient{t: t, conn: conn, br: bufio.NewReader(conn)}
	hdr := "POST /api/v1/envelopes/" + id + "/reply HTTP/1.1\r\nHost: " + ts.Listener.Addr().String() +
		"\r\nContent-Type: multipart/form-data; boundary=" + slowBoundary +
		"\r\nContent-Length: 4000\r\nOrigin: null\r\n"
	if expect {
		hdr += "Expect: 100-continue\r\n"
	}
	if _, err := io.WriteString(conn, hdr+"\r\n"); err != nil {
		t.Fatal(err)
	}
	if expect {
		if resp := c.response(); resp.StatusCode != http.StatusContinue {
			t.Fatalf("asked for 100 Continue, got %d", resp.StatusCode)
		}
	}
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	return c
}

// response reads the next answer on the connection, within answerWithin.
func (c *slowClient) response() *http.Response {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(answerWithin))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.t.Fatalf("no answer within %v: %v", answerWithin, err)
	}
	return resp
}

// answer reads the next answer and its JSON.
func (c *slowClient) answer() (*http.Response, apiAnswer) {
	c.t.Helper()
	resp := c.response()
	defer resp.Body.Close()
	var a apiAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		c.t.Fatalf("answer %d is not JSON: %v", resp.StatusCode, err)
	}
	return resp, a
}

// part is one form part as a body carries it.
func part(name, value string) string {
	return "--" + slowBoundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n"
}

// postReply sends a whole reply over ts as the page does.
func postReply(t *testing.T, ts *httptest.Server, id, token, text string) (int, apiAnswer) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range [][2]string{{"reply_token", token}, {"kind", "reply"}, {"text", text}} {
		_ = mw.WriteField(f[0], f[1])
	}
	mw.Close()
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/envelopes/"+id+"/reply", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", "null")
	client := &http.Client{Timeout: answerWithin}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a apiAnswer
	_ = json.NewDecoder(resp.Body).Decode(&a)
	return resp.StatusCode, a
}

// A client without a valid token is answered 401 as soon as its first
// part has arrived, while the rest of its body is still on its way.
func TestReplyTokenCheckedBeforeTheBody(t *testing.T) {
	f := newReplyFixture(t, nil)
	ts := httptest.NewServer(f.srv)
	t.Cleanup(ts.Close) // after the slow clients' connections are closed (cleanups run last first)
	unknown := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	c := startSlowReply(t, ts, "lab", part("reply_token", unknown)+part("kind", "reply")+"--"+slowBoundary+"\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nand then", false)
	resp, a := c.answer()
	if resp.StatusCode != http.StatusUnauthorized || a.Error != "invalid_token" {
		t.Errorf("an unknown token with the body still arriving: %d %+v; want 401 at once", resp.StatusCode, a)
	}

	// The token comes first (the page sends it first); a form that does
	// not start with it is refused, saying so.
	c = startSlowReply(t, ts, "lab", part("kind", "reply")+"--"+slowBoundary+"\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nand then", false)
	resp, a = c.answer()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(a.Message, "first field must be reply_token") {
		t.Errorf("a form without the token first: %d %+v; want 400 naming reply_token", resp.StatusCode, a)
	}
}

// A client still sending its token holds no reply slot: with one slot and
// one request per client, a reply sent meanwhile goes through.
func TestReplySlowTokenHoldsNoSlot(t *testing.T) {
	f := newReplyFixture(t, nil, func(c *Config) { c.ReplyConcurrency, c.ClientInFlight = 1, 1 })
	a := f.token("lab")
	ts := httptest.NewServer(f.srv)
	t.Cleanup(ts.Close) // after the slow clients' connections are closed (cleanups run last first)
	// 100 Continue: the handler is reading the body.
	slow := startSlowReply(t, ts, "lab", "--"+slowBoundary+"\r\nContent-Disposition: form-data; name=\"reply_token\"\r\n\r\n"+a.ReplyToken[:10], true)
	if code, ans := postReply(t, ts, "lab", a.ReplyToken, "Sent while another client trickles its token."); code != http.StatusOK || !ans.Sent {
		t.Errorf("a reply while a client trickles its token: %d %+v; want 200 (the trickler holds no slot)", code, ans)
	}
	slow.conn.Close()
}

// A client with a valid token whose body trickles is cut off when the
// reply's read time runs out: 408 with a JSON answer, the connection
// closed, and its slot free for the next reply.
func TestReplySlowBodyIsCutOff(t *testing.T) {
	const readTime = 500 * time.Millisecond
	f := newReplyFixture(t, nil, func(c *Config) { c.ReplyConcurrency, c.ReplyReadTimeout = 1, readTime })
	a := f.token("lab")
	ts := httptest.NewServer(f.srv)
	t.Cleanup(ts.Close) // after the slow clients' connections are closed (cleanups run last first)
	start := time.Now()
	c := startSlowReply(t, ts, "lab", part("reply_token", a.ReplyToken)+part("kind", "reply")+"--"+slowBoundary+"\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nThe first words", false)
	resp, ans := c.answer()
	if resp.StatusCode != http.StatusRequestTimeout || ans.Error != "timeout" || !strings.Contains(ans.Message, "took longer than") {
		t.Fatalf("a trickled body: %d %+v; want 408 timeout with a message", resp.StatusCode, ans)
	}
	if took := time.Since(start); took < readTime {
		t.Errorf("cut off after %v, before the read time %v", took, readTime)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(answerWithin))
	if n, err := c.br.ReadByte(); err != io.EOF {
		t.Errorf("after the 408 the connection is still open (read %q, %v)", n, err)
	}
	if len(f.mail.sent()) != 0 {
		t.Error("the cut-off reply was sent")
	}
	if code, ans := postReply(t, ts, "lab", a.ReplyToken, "The next reply."); code != http.StatusOK || !ans.Sent {
		t.Errorf("the next reply: %d %+v; want 200 (the slot is free again)", code, ans)
	}
}

// TestReplyReadTimeGrowsWithTheBody: a large reply on a slow uplink gets
// time for its declared size at replyMinRate; a body of unknown length
// gets the base, whatever it claims later.
func TestReplyReadTimeGrowsWithTheBody(t *testing.T) {
	s := &Server{cfg: Config{ReplyReadTimeout: time.Minute}}
	for _, tt := range []struct {
		n    int64
		want time.Duration
	}{
		{-1, time.Minute},
		{0, time.Minute},
		{10 * 32768, time.Minute + 10*time.Second},
		{10_000_000, time.Minute + 305*time.Second + 175781250}, // 10 MB at 32 KiB/s: 305.18 s
	} {
		if got := s.replyReadTime(tt.n); got != tt.want {
			t.Errorf("replyReadTime(%d) = %v; want %v", tt.n, got, tt.want)
		}
	}
}

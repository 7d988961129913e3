package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// miltertestBinary finds /usr/bin/miltertest (Debian package miltertest).
// Under CI=true a missing binary is a failure; elsewhere the test is skipped.
func miltertestBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("miltertest")
	if err == nil {
		return bin
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("miltertest not installed (apt-get install miltertest): %v", err)
	}
	t.Skipf("miltertest not installed (apt-get install miltertest): %v", err)
	return ""
}

// miltertestRun runs one Lua script from testdata/miltertest against the
// milter on 127.0.0.1:port and returns its output and exit status.
func miltertestRun(t *testing.T, bin string, port int, script string) (string, int) {
	t.Helper()
	dir := filepath.Join(repoRoot(), "testdata", "miltertest")
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"-D", fmt.Sprintf("port=%d", port),
		"-D", "dir="+dir,
		"-s", filepath.Join(dir, script))
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("miltertest -s %s did not finish within 45s; output so far:\n%s", script, out.String())
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	default:
		t.Fatalf("running miltertest: %v\n%s", err, out.String())
		return "", -1
	}
}

// miltertestProxy relays the milter protocol between miltertest and
// postseal unchanged, except that it splits the filter's body-replacement
// packets (SMFIR_REPLBODY, 'b') into chunks of at most 1000 bytes.
//
// Why: miltertest (OpenDKIM 2.11.0~beta2, Debian bookworm) reads every
// end-of-message reply into a 1024-byte stack buffer without checking the
// length (mt_eom -> mt_milter_read ignores buflen), so a real sealed body in
// one packet aborts it with "*** stack smashing detected ***". Several
// SMFIR_REPLBODY packets are equivalent to one in the milter protocol
// (Sendmail and Postfix concatenate them), so this changes nothing about
// what postseal asked for. The proxy also keeps the replaced body, which
// miltertest cannot show.
type miltertestProxy struct {
	ln     net.Listener
	Port   int
	target string
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]bool
	split  int    // REPLBODY packets that had to be split
	body   []byte // the last transaction's replacement body
	errors []string
}

const miltertestMaxPacket = 1000

// miltertestMaxBody is how much of a replacement body the proxy passes on.
// miltertest also expects each packet from a single read(); once its
// receive window is full (a sealed body is 130 KB and more, and miltertest
// reads slowly) the kernel takes part of a packet and the next read is
// short ("read(3): returned 274, expected 1000"). The scripts only check
// that the body was replaced; the whole body is kept in the proxy.
const miltertestMaxBody = 32 << 10

func miltertestStartProxy(t *testing.T, target string) *miltertestProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &miltertestProxy{ln: ln, Port: ln.Addr().(*net.TCPAddr).Port, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.relay(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *miltertestProxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
}

func (p *miltertestProxy) fail(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errors = append(p.errors, fmt.Sprintf(format, args...))
}

func (p *miltertestProxy) relay(client net.Conn) {
	defer client.Close()
	p.track(client, true)
	defer p.track(client, false)
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		p.fail("proxy: dial %s: %v", p.target, err)
		return
	}
	defer server.Close()
	p.track(server, true)
	defer p.track(server, false)

	// MTA -> filter: verbatim.
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(server, client)
		server.(*net.TCPConn).CloseWrite()
	}()

	// filter -> MTA: packet by packet, each written with one Write (miltertest
	// expects a whole packet from one read()).
	var body []byte
	forwarded := 0 // bytes of this transaction's replacement body passed on
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(server, hdr[:]); err != nil {
			break
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n == 0 || n > 1<<26 {
			p.fail("proxy: bad packet length %d from the filter", n)
			break
		}
		pkt := make([]byte, n)
		if _, err := io.ReadFull(server, pkt); err != nil {
			p.fail("proxy: short packet from the filter: %v", err)
			break
		}
		cmd, data := pkt[0], pkt[1:]
		if cmd == 'b' {
			body = append(body, data...)
			if len(data) > miltertestMaxPacket {
				p.mu.Lock()
				p.split++
				p.mu.Unlock()
			}
			for len(data) > 0 && forwarded < miltertestMaxBody {
				k := min(len(data), miltertestMaxPacket)
				forwarded += k
				if !miltertestWritePacket(client, 'b', data[:k]) {
					return
				}
				data = data[k:]
			}
			continue
		}
		if cmd != 'b' && len(data) > miltertestMaxPacket {
			p.fail("proxy: %q packet of %d bytes from the filter: miltertest cannot read it", cmd, len(data))
		}
		// The body is recorded before the final reply goes on: miltertest
		// exits on that reply and the test then takes what was recorded.
		if cmd == 'a' || cmd == 'c' || cmd == 't' || cmd == 'r' || cmd == 'd' || cmd == 'y' {
			if len(body) > 0 {
				p.mu.Lock()
				p.body = body
				p.mu.Unlock()
			}
			body, forwarded = nil, 0
		}
		if !miltertestWritePacket(client, cmd, data) {
			return
		}
	}
	client.Close()
	<-done
}

func miltertestWritePacket(w io.Writer, cmd byte, data []byte) bool {
	pkt := make([]byte, 5+len(data))
	binary.BigEndian.PutUint32(pkt, uint32(len(data)+1))
	pkt[4] = cmd
	copy(pkt[5:], data)
	_, err := w.Write(pkt)
	return err == nil
}

// take returns and resets what the proxy saw since the last call.
func (p *miltertestProxy) take() (split int, body []byte, errs []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	split, body, errs = p.split, p.body, p.errors
	p.split, p.body, p.errors = 0, nil, nil
	return
}

// miltertestEnvelope runs `postseal envelope show ID` and decodes its JSON.
func miltertestEnvelope(t testing.TB, p *Postseal, id string) map[string]any {
	t.Helper()
	out := p.Run(t, "envelope", "show", id)
	var env map[string]any
	if err := json.Unmarshal([]byte(out), &env); err != nil {
		t.Fatalf("postseal envelope show %s: not JSON: %v\n%s", id, err, out)
	}
	if env["id"] != id {
		t.Fatalf("postseal envelope show %s: id %v\n%s", id, env["id"], out)
	}
	return env
}

// miltertestHasRecipient reports whether the envelope lists addr.
func miltertestHasRecipient(env map[string]any, addr string) bool {
	rs, _ := env["recipients"].([]any)
	for _, r := range rs {
		if s, _ := r.(string); strings.EqualFold(s, addr) {
			return true
		}
	}
	return false
}

var miltertestEnvelopeID = regexp.MustCompile(`(?m)^envelope-id: (\S+)$`)

// TestMiltertest drives postseal's milter with miltertest, an independent
// implementation of the MTA side of the milter protocol.
func TestMiltertest(t *testing.T) {
	needRoot(t)
	bin := miltertestBinary(t)
	p := startPostseal(t, PostsealConfig{})
	proxy := miltertestStartProxy(t, fmt.Sprintf("127.0.0.1:%d", p.MilterPort))

	cases := []struct {
		script string
		want   []string // lines that must appear in the output, in order
	}{
		{"secure_external.lua", []string{
			"ok: end of message answered SMFIR_",
			`ok: Subject changed to " Palliative care consult [-Encrypted-]"`,
			"ok: X-Postseal-Envelope inserted",
			"ok: Content-Type replaced",
			"ok: body replaced",
			"PASS secure-external",
		}},
		{"plain_external.lua", []string{
			"ok: end of message answered SMFIR_",
			"ok: no modifications requested",
			"PASS plain-external",
		}},
		{"secure_internal.lua", []string{
			"ok: end of message answered SMFIR_",
			"ok: no modifications requested",
			"PASS secure-internal",
		}},
	}
	for _, c := range cases {
		t.Run(strings.TrimSuffix(c.script, ".lua"), func(t *testing.T) {
			out, code := miltertestRun(t, bin, proxy.Port, c.script)
			split, body, perrs := proxy.take()
			if len(perrs) > 0 {
				t.Errorf("milter stream between miltertest and postseal:\n%s", strings.Join(perrs, "\n"))
			}
			if code != 0 {
				t.Fatalf("miltertest -s %s exited %d; output:\n%s", c.script, code, out)
			}
			rest := out
			for _, w := range c.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("miltertest -s %s: output lacks %q (after the lines before it); output:\n%s", c.script, w, out)
				}
				rest = rest[i+len(w):]
			}
			if strings.Contains(out, "FAIL:") {
				t.Fatalf("miltertest -s %s exited 0 but reported a failure:\n%s", c.script, out)
			}
			t.Logf("miltertest -s %s:\n%s", c.script, out)

			m := miltertestEnvelopeID.FindStringSubmatch(out)
			if c.script != "secure_external.lua" {
				if m != nil || len(body) > 0 {
					t.Errorf("untouched message, yet envelope %v / %d bytes of replacement body", m, len(body))
				}
				return
			}
			if m == nil {
				t.Fatalf("miltertest -s %s printed no envelope-id line:\n%s", c.script, out)
			}
			// The ID the milter inserted must name an envelope it stored.
			env := miltertestEnvelope(t, p, m[1])
			if !miltertestHasRecipient(env, "patient@example.net") {
				t.Errorf("envelope %s does not list patient@example.net: %v", m[1], env)
			}
			// What miltertest cannot show: the replacement body itself.
			t.Logf("replacement body: %d bytes (%d packet(s) split for miltertest)", len(body), split)
			if !bytes.Contains(body, []byte("securedoc_")) {
				t.Errorf("replacement body (%d bytes) names no securedoc_ attachment", len(body))
			}
			if bytes.Contains(body, []byte("booked for Tuesday")) {
				t.Errorf("replacement body carries the original text in the clear")
			}
		})
	}
}

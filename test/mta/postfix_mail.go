package mta

// What the tests read from and hand to a running instance: its maillog,
// the sink of delivered copies (Delivery), its queue, and sendmail(1).
// Apart from postfix.go, which configures, starts, reloads and stops the
// instance: these helpers work on it only while it runs.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Delivery is one delivered copy of a message (one file in the sink).
type Delivery struct {
	Path      string
	Recipient string // from Delivered-To:, lower case
	Data      []byte // the file as delivered (LF line ends)
}

// Maillog returns the whole maillog so far.
func (p *Postfix) Maillog() string {
	b, _ := os.ReadFile(p.MaillogPath)
	return string(b)
}

// MaillogTail returns the last n lines of the maillog.
func (p *Postfix) MaillogTail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Maillog(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// LogMark is the current size of the maillog: pass it to the *Since
// functions to look only at what is logged afterwards.
func (p *Postfix) LogMark() int64 {
	fi, err := os.Stat(p.MaillogPath)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// MaillogSince returns the maillog from a LogMark on (whole lines).
func (p *Postfix) MaillogSince(mark int64) string {
	b, _ := os.ReadFile(p.MaillogPath)
	if mark > int64(len(b)) {
		return ""
	}
	return string(b[mark:])
}

// MaillogGrep returns the maillog lines that contain every one of subs.
func (p *Postfix) MaillogGrep(subs ...string) []string { return p.MaillogGrepSince(0, subs...) }

// MaillogGrepSince is MaillogGrep over the lines logged after mark.
func (p *Postfix) MaillogGrepSince(mark int64, subs ...string) []string {
	var out []string
	for _, l := range strings.Split(p.MaillogSince(mark), "\n") {
		all := true
		for _, s := range subs {
			if !strings.Contains(l, s) {
				all = false
				break
			}
		}
		if all && l != "" {
			out = append(out, l)
		}
	}
	return out
}

// WaitMaillog polls the maillog until a line logged after mark contains
// every one of subs, and returns it.
func (p *Postfix) WaitMaillog(mark int64, timeout time.Duration, subs ...string) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		if ls := p.MaillogGrepSince(mark, subs...); len(ls) > 0 {
			return ls[0], nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("mta: no maillog line with %q after %v; maillog tail:\n%s", subs, timeout, p.MaillogTail(40))
		}
		time.Sleep(25 * time.Millisecond) // poll interval
	}
}

// Count is the number of files in the sink (cheap; for benchmarks).
func (p *Postfix) Count() int {
	f, err := os.Open(filepath.Join(p.SinkDir, "new"))
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	for {
		names, err := f.Readdirnames(4096)
		n += len(names)
		if err != nil {
			return n
		}
	}
}

// WaitCount polls until the sink holds at least n files.
func (p *Postfix) WaitCount(n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for range t.C {
		c := p.Count()
		if c >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mta: %d of %d messages delivered after %v; maillog tail:\n%s", c, n, timeout, p.MaillogTail(20))
		}
	}
	return nil
}

// ClearSink removes every delivered file.
func (p *Postfix) ClearSink() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cache = map[string]*Delivery{}
	for _, sub := range []string{"new", "cur"} {
		d := filepath.Join(p.SinkDir, sub)
		names, err := os.ReadDir(d)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return err
		}
		for _, n := range names {
			if err := os.Remove(filepath.Join(d, n.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// Deliveries returns every delivered copy, oldest file name first.
func (p *Postfix) Deliveries() ([]*Delivery, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := filepath.Join(p.SinkDir, "new")
	ents, err := os.ReadDir(d)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var out []*Delivery
	for _, e := range ents {
		if dv, ok := p.cache[e.Name()]; ok {
			out = append(out, dv)
			continue
		}
		path := filepath.Join(d, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		dv := &Delivery{Path: path, Recipient: deliveredTo(data), Data: data}
		p.cache[e.Name()] = dv
		out = append(out, dv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// deliveredTo reads the first Delivered-To: header (virtual(8) prepends it).
func deliveredTo(data []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		if name, val, ok := strings.Cut(line, ":"); ok && strings.EqualFold(name, "Delivered-To") {
			return strings.ToLower(strings.TrimSpace(val))
		}
	}
	return ""
}

var (
	receivedIDRe = regexp.MustCompile(`with \S+ id ([0-9A-F]+)`)
	smtpdNameRe  = regexp.MustCompile(`postfix-([A-Za-z0-9_.-]+)/smtpd\[`)
)

// Listener names the smtpd service (SMTP, Reinject, a Listener's name)
// that received the delivered copy d: the queue id in its newest Received
// header, looked up in the maillog, where each listener logs as
// postfix-NAME/smtpd.
func (p *Postfix) Listener(d *Delivery) (string, error) {
	m := receivedIDRe.FindSubmatch(d.Data)
	if m == nil {
		return "", fmt.Errorf("mta: no queue id in the Received header of %s", d.Path)
	}
	for _, l := range p.MaillogGrep(string(m[1])+": client=", "/smtpd[") {
		if n := smtpdNameRe.FindStringSubmatch(l); n != nil {
			return n[1], nil
		}
	}
	return "", fmt.Errorf("mta: no smtpd line for queue id %s in the maillog", m[1])
}

// DeliveredTo returns the copies delivered to rcpt so far.
func (p *Postfix) DeliveredTo(rcpt string) ([]*Delivery, error) {
	all, err := p.Deliveries()
	if err != nil {
		return nil, err
	}
	rcpt = strings.ToLower(rcpt)
	var out []*Delivery
	for _, d := range all {
		if d.Recipient == rcpt {
			out = append(out, d)
		}
	}
	return out, nil
}

// WaitDelivered polls the sink until n copies for rcpt have arrived and
// returns them. It fails on timeout, and when more than n arrived.
func (p *Postfix) WaitDelivered(rcpt string, n int, timeout time.Duration) ([]*Delivery, error) {
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		got, err := p.DeliveredTo(rcpt)
		if err != nil {
			return nil, err
		}
		if len(got) > n {
			return got, fmt.Errorf("mta: %d copies delivered to %s, want %d", len(got), rcpt, n)
		}
		if len(got) == n {
			return got, nil
		}
		if time.Now().After(deadline) {
			return got, fmt.Errorf("mta: %d of %d copies delivered to %s after %v; maillog lines for it:\n%s\nmaillog tail:\n%s",
				len(got), n, rcpt, timeout, strings.Join(p.MaillogGrep("<"+rcpt+">"), "\n"), p.MaillogTail(25))
		}
		<-t.C
	}
}

// QueuedFor returns the queue ids of messages still in the queue (any
// queue) with rcpt among their recipients, from postqueue -j.
func (p *Postfix) QueuedFor(rcpt string) ([]string, error) {
	out, err := exec.Command("postqueue", "-c", p.ConfigDir, "-j").Output()
	if err != nil {
		return nil, fmt.Errorf("mta: postqueue -j: %v", err)
	}
	var ids []string
	for _, line := range bytes.Split(out, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var q struct {
			QueueID    string `json:"queue_id"`
			Recipients []struct {
				Address string `json:"address"`
			} `json:"recipients"`
		}
		if err := json.Unmarshal(line, &q); err != nil {
			return nil, fmt.Errorf("mta: postqueue -j: %v: %s", err, line)
		}
		for _, r := range q.Recipients {
			if strings.EqualFold(r.Address, rcpt) {
				ids = append(ids, q.QueueID)
			}
		}
	}
	return ids, nil
}

// Sendmail submits msg with Postfix's sendmail(1) (postdrop → pickup →
// cleanup, so non_smtpd_milters apply).
func (p *Postfix) Sendmail(from string, rcpts []string, msg []byte) error {
	args := append([]string{"-C", p.ConfigDir, "-f", from, "--"}, rcpts...)
	cmd := exec.Command("/usr/sbin/sendmail", args...)
	cmd.Stdin = bytes.NewReader(msg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("mta: sendmail %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

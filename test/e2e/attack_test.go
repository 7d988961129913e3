package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postseal/postseal/test/mta"
)

// The key-service review's attacks, replayed against a running `postseal
// serve` behind its real Postfix: parallel clients over HTTP, the mails
// through the MTA, the process's memory read from /proc and the database's
// size from the disk. The key service trusts 127.0.0.1 as its proxy, so
// each client names its own address in X-Forwarded-For, as behind a load
// balancer.
func TestKeyServiceUnderAttack(t *testing.T) {
	needRoot(t)
	reinject := freePort(t)
	ps := startPostseal(t, PostsealConfig{ReinjectPort: reinject, Keyserver: `trusted_proxies = ["127.0.0.1/32"]`})
	pf := startPostfix(t, mta.Options{Milter: postfixMilterAddr(ps.MilterPort), ReinjectPort: reinject})
	base := fmt.Sprintf("http://127.0.0.1:%d", ps.HTTPPort)

	const victim = "gina@partner.example"
	mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{victim}, postfixMessage(t, "secure-attachment.eml"))
	id := postfixOpenSealed(t, ps, postfixWait(t, pf, mark, victim, 1)[0]).ID
	delivered := 1

	const ownerPW, ownerNet = "the owner's own passphrase", "203.0.113.5"

	// Finding 1: strangers register the victim's address before and
	// after the owner does, one with a "name" that tells the victim what
	// to type; the owner activates with the password they chose.
	t.Run("RegistrationTakeover", func(t *testing.T) {
		// Letters, spaces and hyphens only: what a name may hold.
		const lure = "Gina - your one-time activation password is harbor-tulip"
		regs := []struct{ name, password, client string }{
			{lure, "harbor-tulip-4417", "198.51.100.9"},
			{"Mallory", "mallory's password one", "198.51.101.9"},
			{"Gina", ownerPW, ownerNet},
			{"Mallory", "mallory's password two", "198.51.102.9"},
		}
		var wg sync.WaitGroup
		for _, r := range regs {
			wg.Go(func() {
				code, body := attackForm(t, base, "/register", url.Values{
					"email": {victim}, "first_name": {r.name}, "last_name": {"Lee"},
					"password": {r.password}, "confirm_password": {r.password}, "envelope": {id},
				}, r.client)
				if code != 200 {
					t.Errorf("registration from %s: %d %s", r.client, code, body)
				}
			})
		}
		wg.Wait()
		delivered += len(regs)
		mails := postfixWait(t, pf, mark, victim, delivered)
		var links []string
		for _, d := range mails {
			text := keyserverMailText(t, d.Data)
			if l := keyserverActivationRe.FindString(text); l != "" {
				links = append(links, l)
				for _, needle := range []string{"harbor-tulip", "Gina", "Mallory"} {
					if strings.Contains(text, needle) {
						t.Errorf("an activation mail carries the stranger's %q:\n%s", needle, text)
					}
				}
			}
		}
		if len(links) != len(regs) {
			t.Fatalf("%d activation links; want %d", len(links), len(regs))
		}
		// The owner tries every link with the password they chose: only
		// their own registration's activates, and the others die with it.
		codes := map[int]int{}
		for _, l := range links {
			code, _ := attackForm(t, base, strings.TrimPrefix(l, base), url.Values{"password": {ownerPW}}, ownerNet)
			codes[code]++
		}
		if codes[200] != 1 || codes[200]+codes[401]+codes[410] != len(links) {
			t.Errorf("the owner's password on the %d links: %v; want exactly one 200, the rest 401 or 410", len(links), codes)
		}
		if code := attackRelease(t, base, id, victim, ownerPW, ownerNet); code != 200 {
			t.Errorf("the owner's key release: %d", code)
		}
		for _, r := range regs {
			if r.password != ownerPW {
				if code := attackRelease(t, base, id, victim, r.password, r.client); code != 401 {
					t.Errorf("a stranger's password (%s): %d; want 401", r.client, code)
				}
			}
		}
	})

	// Finding 5: parallel guesses from one network do not lock the owner
	// out on another.
	t.Run("TargetedLockout", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				attackRelease(t, base, id, victim, "guess number "+strconv.Itoa(i), "198.51.100."+strconv.Itoa(20+i))
			})
		}
		wg.Wait()
		if code := attackRelease(t, base, id, victim, ownerPW, "198.51.100.99"); code != 429 {
			t.Errorf("the guessing network, right password: %d; want 429", code)
		}
		if code := attackRelease(t, base, id, victim, ownerPW, ownerNet); code != 200 {
			t.Errorf("the owner on another network: %d; want 200", code)
		}
	})

	// Finding 3: one client hammering with cheap requests (overlong
	// addresses, throttled guesses) does not grow the database.
	t.Run("EventFlood", func(t *testing.T) {
		before := attackDBSize(t, ps)
		long := strings.Repeat("x", 16000) + "@partner.example"
		codes := map[int]int{}
		for i := range 2000 {
			addr, client := victim, "198.51.100.7" // throttled since TargetedLockout
			if i%2 == 0 {
				addr = long
			}
			codes[attackRelease(t, base, id, addr, "wrong password", client)]++
		}
		after := attackDBSize(t, ps)
		t.Logf("database %d → %d bytes after 2000 cheap requests (%v)", before, after, codes)
		if codes[400] != 1000 || codes[429] != 1000 {
			t.Errorf("answers %v; want 1000 × 400 and 1000 × 429", codes)
		}
		if after-before > 1<<20 {
			t.Errorf("the database grew by %d bytes; want under 1 MiB", after-before)
		}
	})

	// Finding 4: a registration flood from one client is refused before
	// any hashing; the owner's key releases meanwhile go through.
	t.Run("RegistrationFlood", func(t *testing.T) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[int]int{}
		for i := range 120 {
			wg.Go(func() {
				addr := "flood" + strconv.Itoa(i) + "@partner.example"
				code, _ := attackForm(t, base, "/register", url.Values{
					"email": {addr}, "first_name": {"F"}, "last_name": {"L"},
					"password": {"flood password " + strconv.Itoa(i)}, "confirm_password": {"flood password " + strconv.Itoa(i)},
				}, "198.51.100.50")
				mu.Lock()
				codes[code]++
				mu.Unlock()
			})
		}
		var slowest time.Duration
		for range 5 {
			start := time.Now()
			if code := attackRelease(t, base, id, victim, ownerPW, ownerNet); code != 200 {
				t.Errorf("key release during the flood: %d", code)
			}
			slowest = max(slowest, time.Since(start))
		}
		wg.Wait()
		t.Logf("120 registrations from one client: %v; slowest key release meanwhile %v", codes, slowest)
		if codes[200] > 10 || codes[429] < 110 {
			t.Errorf("registrations answered %v; want at most 10 accepted (hashed), the rest 429", codes)
		}
	})

	// Finding 2: 16 parallel Open Online posts of ~14 MB each leave the
	// process's memory nearly flat; the posts past the bound are told to
	// retry, and the others get the whole payload back.
	t.Run("OpenOnlineMemory", func(t *testing.T) {
		status := "/proc/" + strconv.Itoa(ps.PID()) + "/status"
		// Reset the peak (VmHWM) so it measures this flood only.
		if err := os.WriteFile("/proc/"+strconv.Itoa(ps.PID())+"/clear_refs", []byte("5"), 0); err != nil {
			t.Fatal(err)
		}
		rssBefore := attackProcKB(t, status, "VmRSS")
		payload := attackPayload(13_500_000)
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[int]int{}
		for range 16 {
			wg.Go(func() {
				code, retry, whole := attackOpen(t, base, id, payload)
				mu.Lock()
				defer mu.Unlock()
				codes[code]++
				if code == 503 && retry == "" {
					t.Error("503 without Retry-After")
				}
				if code == 200 && !whole {
					t.Error("a 200 page without the whole payload")
				}
			})
		}
		wg.Wait()
		peak := attackProcKB(t, status, "VmHWM")
		t.Logf("16 × %d-byte posts: %v; RSS %d MB before, peak %d MB", len(payload), codes, rssBefore>>10, peak>>10)
		if codes[200] == 0 || codes[200]+codes[503] != 16 {
			t.Errorf("answers %v; want some 200 and the rest 503", codes)
		}
		if grew := (peak - rssBefore) >> 10; grew > 150 {
			t.Errorf("peak RSS grew by %d MB during the posts; want under 150 MB", grew)
		}
	})
}

// attackForm posts a form as the client at address client (through the
// trusted proxy) and returns the status and body.
func attackForm(t *testing.T, base, path string, v url.Values, client string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", client)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// attackRelease asks for the key as the client at address client.
func attackRelease(t *testing.T, base, id, email, password, client string) int {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, _ := http.NewRequest("POST", base+"/api/v1/envelopes/"+id+"/key", bytes.NewReader(b))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("X-Forwarded-For", client)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// attackDBSize is the size of the SQLite database with its journal.
func attackDBSize(t *testing.T, ps *Postseal) int64 {
	t.Helper()
	var n int64
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if fi, err := os.Stat(filepath.Join(ps.Dir, "postseal.db"+suffix)); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// attackProcKB reads one "Name: N kB" line of /proc/PID/status.
func attackProcKB(t *testing.T, path, name string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in %s", name, path)
	return 0
}

// attackPayload is armour-shaped text of about n bytes.
func attackPayload(n int) []byte {
	line := strings.Repeat("QUFB", 19) + "\n"
	var b bytes.Buffer
	b.WriteString("-----BEGIN PGP MESSAGE-----\n\n")
	for b.Len() < n {
		b.WriteString(line)
	}
	b.WriteString("-----END PGP MESSAGE-----\n")
	return b.Bytes()
}

// attackOpen posts payload to Open Online as the securedoc's form does,
// streaming it from memory shared by all posts; it reports the status,
// Retry-After and whether a 200 page carried the whole payload.
func attackOpen(t *testing.T, base, id string, payload []byte) (int, string, bool) {
	t.Helper()
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	_ = mw.WriteField("envelope", id)
	_ = mw.WriteField("meta", `{"subject":"flood"}`)
	_, _ = mw.CreateFormField("payload")
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	body := io.MultiReader(bytes.NewReader(head.Bytes()), bytes.NewReader(payload), strings.NewReader(tail))
	req, _ := http.NewRequest("POST", base+"/open", body)
	req.ContentLength = int64(head.Len() + len(payload) + len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", "null")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, "", false
	}
	defer resp.Body.Close()
	// Count the payload's lines as they come, without keeping the page.
	lines, end := 0, false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		switch l := sc.Text(); {
		case strings.HasPrefix(l, "QUFB"):
			lines++
		case l == "-----END PGP MESSAGE-----":
			end = true
		}
	}
	want := bytes.Count(payload, []byte("\nQUFB"))
	return resp.StatusCode, resp.Header.Get("Retry-After"), end && lines == want && sc.Err() == nil
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/postseal/postseal/keyserver"
	"github.com/postseal/postseal/store"
)

// ---- keyserver ---------------------------------------------------------------

// ksClients is the keyserver row's concurrency (README.md): 50 recipients opening at once.
const ksClients = 50

// ksRamp is how long the clients run before releases are counted.
const ksRamp = 500 * time.Millisecond

// discardMail stands in for the mail queue: the key endpoint sends none.
type discardMail struct{}

func (discardMail) Enqueue(context.Context, string, []string, []byte) error { return nil }

// keyserverRows measures key releases per second through the real key
// service (HTTP on loopback, SQLite store, default Argon2id cost, 50
// clients with valid passwords) against bare Argon2id hashes per second
// with the same parameters on as many goroutines as the service allows
// concurrent hashes: the ratio is what the service costs beyond the hash.
func keyserverRows(c config) []Row {
	const goal = "ratio ≥ 0.8"
	fail := func(why string) []Row {
		return []Row{{Name: "keyserver", Goal: goal, Note: "failed: " + why}, {Name: "keyserver-p99", Note: "failed: " + why}}
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "postseal-bench-ks-")
	if err != nil {
		return fail(err.Error())
	}
	defer os.RemoveAll(dir)
	mk, err := store.LoadMasterKey(filepath.Join(dir, "master.key"), true)
	if err != nil {
		return fail(err.Error())
	}
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "postseal.db"), mk)
	if err != nil {
		return fail(err.Error())
	}
	defer st.Close()

	params := keyserver.DefaultArgon2
	const password = "correct horse battery staple"
	hash, err := keyserver.HashPassword(params, password)
	if err != nil {
		return fail(err.Error())
	}
	recipients := make([]string, ksClients)
	now := time.Now()
	for i := range recipients {
		recipients[i] = fmt.Sprintf("r%02d@partner.example", i)
		if err := st.CreateAccount(ctx, store.Account{Email: recipients[i], FirstName: "R", LastName: "B", PasswordHash: hash, Active: true, Created: now}); err != nil {
			return fail(err.Error())
		}
	}
	key := bytes.Repeat([]byte{7}, 32)
	if err := st.PutEnvelope(ctx, store.Envelope{ID: "benchenvelope", Sender: "a@example.org", Recipients: recipients, Kind: store.KindKeyService, Created: now, Expires: now.Add(24 * time.Hour)}, key); err != nil {
		return fail(err.Error())
	}
	srv, err := keyserver.New(keyserver.Config{PublicURL: "http://127.0.0.1", Organization: "Bench", From: "postseal@example.org", Argon2: params},
		keyserver.Deps{Store: st, Mailer: discardMail{}})
	if err != nil {
		return fail(err.Error())
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: ksClients, MaxConnsPerHost: ksClients}, Timeout: time.Minute}
	defer client.CloseIdleConnections()

	// Short runs, many pairs: on a shared machine the load of others moves
	// within seconds, and fine alternation lets the median see past it.
	dur, pairs := 2*time.Second, max(3*c.pairs, 9)
	if c.quick {
		dur, pairs = time.Second, 6
	}
	// Warm-up: every client once (connections, caches, the first hashes).
	if _, err := releases(client, ts.URL, recipients, password, 0); err != nil {
		return fail(err.Error())
	}
	workers := runtime.NumCPU()
	var as, bs, ratios []float64
	var lat []time.Duration
	for i := 0; i < pairs; i++ {
		l, err := releases(client, ts.URL, recipients, password, dur)
		if err != nil {
			return fail(err.Error())
		}
		a := float64(len(l)) / dur.Seconds()
		b := bareHashes(params, workers, dur)
		as, bs, lat = append(as, a), append(bs, b), append(lat, l...)
		ratios = append(ratios, a/b)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p99 := ms(lat[len(lat)*99/100])
	note := fmt.Sprintf("A: POST /api/v1/envelopes/{id}/key over HTTP on loopback, %d clients, valid passwords, SQLite store, Argon2id m=%d KiB t=%d p=%d, %d concurrent hashes; B: bare argon2.IDKey, same parameters, %d goroutines; %v per run, median of %d A/B pairs (ratios %s)",
		ksClients, params.MemoryKiB, params.Time, params.Threads, workers, workers, dur, pairs, fmtRatios(ratios))
	return []Row{
		{Name: "keyserver", Unit: "releases/s", Value: f(median(as)), Baseline: f(median(bs)), Ratio: f(median(ratios)), Goal: goal, Note: note},
		{Name: "keyserver-p99", Unit: "ms", Value: f(p99), Note: fmt.Sprintf("p99 latency of %d key releases with %d concurrent clients (all A runs); queueing for %d hash slots dominates", len(lat), ksClients, workers)},
	}
}

// releases runs one client per recipient and returns the latencies of the
// releases that completed within a window of d, opened once all clients
// are busy (a ramp of ksRamp) so that neither the start nor the requests
// still running at the end distort the rate. d = 0: one request each, no
// window. Any answer but 200 is an error: only successful releases count.
func releases(client *http.Client, base string, recipients []string, password string, d time.Duration) ([]time.Duration, error) {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		firstErr  error
		wg        sync.WaitGroup
	)
	from := time.Now().Add(ksRamp)
	to := from.Add(d)
	for _, r := range recipients {
		body := []byte(fmt.Sprintf(`{"email":%q,"password":%q}`, r, password))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				t0 := time.Now()
				resp, err := client.Post(base+"/api/v1/envelopes/benchenvelope/key", "application/json", bytes.NewReader(body))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("key release answered %s", resp.Status)
					}
				}
				end := time.Now()
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil && (d == 0 || end.After(from) && !end.After(to)) {
					latencies = append(latencies, end.Sub(t0))
				}
				mu.Unlock()
				if err != nil || d == 0 || end.After(to) {
					return
				}
			}
		}()
	}
	wg.Wait()
	return latencies, firstErr
}

// bareHashes counts Argon2id computations per second on n goroutines.
func bareHashes(p keyserver.Argon2, n int, d time.Duration) float64 {
	var count atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	salt := bytes.Repeat([]byte{1}, 16)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				argon2.IDKey([]byte("correct horse battery staple"), salt, p.Time, p.MemoryKiB, p.Threads, 32)
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(count.Load()) / time.Since(start).Seconds()
}

func fmtRatios(rs []float64) string {
	var b bytes.Buffer
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.2f", r)
	}
	return b.String()
}

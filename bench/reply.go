package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	pconfig "github.com/postseal/postseal/config"
	"github.com/postseal/postseal/keyserver"
	"github.com/postseal/postseal/mailer"
	"github.com/postseal/postseal/policy"
	"github.com/postseal/postseal/store"
)

// ---- reply -------------------------------------------------------------------

// replyClients replies at once; the key service serves as many.
const replyClients = 8

// replyRows measures secure replies per second through the real key
// service (HTTP on loopback, SQLite store, the durable mail queue): a
// Reply to an internal sender (the clear copy queued for [smtp] relay) and
// a Forward to an external address (a new envelope sealed and recorded,
// its notification queued), each with 2 KB of text and a 20 KB attachment.
// The baseline in the same run is key releases per second (the keyserver
// row's measure): what a reader does before replying.
func replyRows(c config) []Row {
	fail := func(why string) []Row {
		return []Row{{Name: "reply", Note: "failed: " + why}, {Name: "reply-sealed", Note: "failed: " + why}}
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "postseal-bench-reply-")
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
	cfg := pconfig.Default()
	pol, err := policy.Load(cfg)
	if err != nil {
		return fail(err.Error())
	}
	params := keyserver.DefaultArgon2
	const password = "correct horse battery staple"
	hash, err := keyserver.HashPassword(params, password)
	if err != nil {
		return fail(err.Error())
	}
	now := time.Now()
	readers := make([]string, replyClients)
	for i := range readers {
		readers[i] = fmt.Sprintf("reader%d@partner.example", i)
		if err := st.CreateAccount(ctx, store.Account{Email: readers[i], FirstName: "R", LastName: "B", PasswordHash: hash, Active: true, Created: now}); err != nil {
			return fail(err.Error())
		}
	}
	if err := st.PutEnvelope(ctx, store.Envelope{ID: "benchenvelope", Sender: "doctor@example.org", Recipients: readers, Kind: store.KindKeyService,
		Created: now, Expires: now.Add(24 * time.Hour), Subject: "Lab results [-Encrypted-]", MessageID: "<bench@example.org>"}, bytes.Repeat([]byte{7}, 32)); err != nil {
		return fail(err.Error())
	}
	// The queue is the real durable one; nothing runs it here: a reply is
	// answered once its copies are durable, delivery is the queue's work.
	queue := mailer.NewQueue(st, nil, slog.New(slog.DiscardHandler))
	srv, err := keyserver.New(keyserver.Config{PublicURL: "http://127.0.0.1", Organization: "Bench", From: "postseal@example.org", Argon2: params,
		RepliesPerHour: 1 << 30, ReplyConcurrency: 2 * replyClients, ClientInFlight: replyClients},
		keyserver.Deps{Store: st, Mailer: queue, Sealed: queue.Via(store.RouteReinject), Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})), Policy: func() *policy.Policy { return pol }})
	if err != nil {
		return fail(err.Error())
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: ksClients, MaxConnsPerHost: ksClients}, Timeout: time.Minute}
	defer client.CloseIdleConnections()

	// Reply tokens are put in the store as the key release makes them,
	// with sends enough for the run: the row measures the reply, not the
	// release (that is the baseline).
	tokens := make([]string, replyClients)
	for i, r := range readers {
		secret := bytes.Repeat([]byte{byte(i + 1)}, 32)
		sum := sha256.Sum256(secret)
		if err := st.PutToken(ctx, store.Token{Hash: sum[:], Purpose: store.TokenReply, Email: r, EnvelopeID: "benchenvelope", Uses: 1 << 30, Expires: now.Add(24 * time.Hour)}); err != nil {
			return fail(err.Error())
		}
		tokens[i] = base64.RawURLEncoding.EncodeToString(secret)
	}
	text := bytes.Repeat([]byte("The referral is booked for Monday; details below.\n"), 40)
	attachment := bytes.Repeat([]byte{0xA5, 0x5A, 0x33, 0x01}, 5000)
	body := func(token, kind string) (string, []byte) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		_ = mw.WriteField("reply_token", token)
		_ = mw.WriteField("kind", kind)
		if kind == "forward" {
			_ = mw.WriteField("to", "colleague@third.example")
		}
		_ = mw.WriteField("text", string(text))
		w, _ := mw.CreateFormFile("attachments", "lab.pdf")
		_, _ = w.Write(attachment)
		mw.Close()
		return mw.FormDataContentType(), b.Bytes()
	}
	var busy atomic.Int64
	run := func(kind string, d time.Duration) (float64, error) {
		var n atomic.Int64
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		deadline := time.Now().Add(d)
		start := time.Now()
		for i := range replyClients {
			ct, b := body(tokens[i], kind)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					resp, err := client.Post(ts.URL+"/api/v1/envelopes/benchenvelope/reply", ct, bytes.NewReader(b))
					if err == nil {
						msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
						resp.Body.Close()
						if resp.StatusCode == http.StatusServiceUnavailable {
							// The answer a page shows as "try again": counted,
							// not a failure of the run.
							busy.Add(1)
							continue
						}
						if resp.StatusCode != http.StatusOK {
							err = fmt.Errorf("reply answered %s: %s", resp.Status, bytes.TrimSpace(msg))
						}
					}
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						return
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		return float64(n.Load()) / time.Since(start).Seconds(), firstErr
	}
	dur, pairs := 2*time.Second, c.pairs
	if c.quick {
		dur = time.Second
	}
	if _, err := run("reply", 200*time.Millisecond); err != nil { // warm-up
		return fail(err.Error())
	}
	var clear, sealed, keys []float64
	for range pairs {
		a, err := run("reply", dur)
		if err != nil {
			return fail(err.Error())
		}
		s, err := run("forward", dur)
		if err != nil {
			return fail(err.Error())
		}
		l, err := releases(client, ts.URL, readers, password, dur)
		if err != nil {
			return fail(err.Error())
		}
		clear, sealed, keys = append(clear, a), append(sealed, s), append(keys, float64(len(l))/dur.Seconds())
	}
	k := median(keys)
	note := fmt.Sprintf("POST /api/v1/envelopes/{id}/reply over HTTP on loopback, %d clients, 2 KB text + 20 KB attachment, SQLite store, answered once durable in the mail queue; baseline: key releases/s (Argon2id m=%d KiB) with %d clients on the same service; %v per run, median of %d rounds; %d answers 503 (store busy) over all runs",
		replyClients, params.MemoryKiB, len(readers), dur, pairs, busy.Load())
	ratio := func(v float64) *float64 {
		if k == 0 {
			return nil // no release completed within a run: no ratio
		}
		return f(v / k)
	}
	return []Row{
		{Name: "reply", Unit: "replies/s", Value: f(median(clear)), Baseline: f(k), Ratio: ratio(median(clear)), Goal: "— (report)", Note: "Reply to an internal sender (clear copy); " + note},
		{Name: "reply-sealed", Unit: "replies/s", Value: f(median(sealed)), Baseline: f(k), Ratio: ratio(median(sealed)), Goal: "— (report)", Note: "Forward to an external address (new envelope sealed, rfc4880); " + note},
	}
}

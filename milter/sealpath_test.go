package milter

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime/metrics"
	"testing"

	"github.com/d--j/go-milter"
	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/policy"
)

// BenchmarkSealPath is one triggered message of ~20 KB through the session
// as the MTA drives it (envelope, header, body, end of message) with the
// shipped rules file (packaging/postseal.toml: page with its decryptor
// linked from the public URL, notification with the phone link), the production log handler and an in-memory store (the
// store's own cost is BenchmarkPutEnvelope's in ./store): what postseal
// spends in-process per sealed message of the pipeline-seal row.
// `go test -bench SealPath -benchmem -cpuprofile` shows where it goes;
// goroutines/op counts those started per message (each a wake-up of an
// idle thread when a core is free, dear on these machines).
func BenchmarkSealPath(b *testing.B) {
	cfg, err := config.Load(filepath.Join("..", "packaging", "postseal.toml"))
	if err != nil {
		b.Fatal(err)
	}
	p, err := policy.Load(cfg)
	if err != nil {
		b.Fatal(err)
	}
	f := New(p, newMemStore(), nil, slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})), Config{SpoolDir: b.TempDir()})
	s := &session{f: f, leadingSpace: true}
	var body bytes.Buffer
	for i := 0; body.Len() < 20_000; i++ {
		fmt.Fprintf(&body, "line %d of the report: the patient was seen in clinic today for follow up\r\n", i)
	}
	// The pass bench's header, triggered, with a plain text body.
	var fields [][2]string
	for _, h := range passHeader {
		switch h[0] {
		case "Subject":
			h[1] = " *secure* bench"
		case "Content-Type":
			h[1] = " text/plain; charset=us-ascii"
		}
		fields = append(fields, h)
	}
	// The production shape, checked on a first message: the profile is
	// that of what postseal sends.
	first := &bodyRecorder{}
	benchHeader(b, s, first, fields)
	_, _ = s.Headers(first)
	_, _ = s.BodyChunk(body.Bytes(), first)
	if r, err := s.EndOfMessage(first); err != nil || r != milter.RespAccept {
		b.Fatalf("end of message: %v, %v; want accept", r, err)
	}
	s.Cleanup(first)
	for _, want := range []string{cfg.Keyserver.PublicURL + envelope.LinkedDecryptor().Path, cfg.Keyserver.PublicURL + envelope.PhonePathPrefix} {
		if !bytes.Contains(first.body.Bytes(), []byte(want)) {
			b.Fatalf("the sealed message has no %s:\n%.2000s", want, first.body.Bytes())
		}
	}
	m := &recorder{}
	b.SetBytes(int64(body.Len()))
	b.ReportAllocs()
	created := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(created)
	before := created[0].Value.Uint64()
	for b.Loop() {
		benchHeader(b, s, m, fields)
		if r, err := s.Headers(m); err != nil || r != milter.RespContinue {
			b.Fatalf("end of header: %v, %v; want continue", r, err)
		}
		_, _ = s.BodyChunk(body.Bytes(), m)
		if r, err := s.EndOfMessage(m); err != nil || r != milter.RespAccept {
			b.Fatalf("end of message: %v, %v; want accept", r, err)
		}
		s.Cleanup(m)
	}
	metrics.Read(created)
	b.ReportMetric(float64(created[0].Value.Uint64()-before)/float64(b.N), "goroutines/op")
}

// bodyRecorder keeps the body the session replaces the message's with.
type bodyRecorder struct {
	recorder
	body bytes.Buffer
}

func (r *bodyRecorder) ReplaceBody(rd io.Reader) error {
	_, err := io.Copy(&r.body, rd)
	return err
}

func (r *bodyRecorder) ReplaceBodyRawChunk(p []byte) error {
	r.body.Write(p)
	return nil
}

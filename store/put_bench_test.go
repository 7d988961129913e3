package store

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/postseal/postseal/store/pgtest"
)

// BenchmarkPutEnvelope is the store's part of the seal path: 20 sealing
// sessions recording envelopes at once, each with its online copy (an 8 KB
// armoured payload) and sealed event, as the milter writes them. It
// reports the process's CPU time per envelope (the store's work in
// postseal, besides the database server's for PostgreSQL). The -alone
// rows put one envelope at a time, each committed by itself: in the
// pipeline, where sealing takes most of a message's time, puts seldom
// meet, and what one commit writes is paid per message.
//
//	go test -run '^$' -bench PutEnvelope ./store/
func BenchmarkPutEnvelope(b *testing.B) {
	for _, sessions := range []int{20, 1} {
		suffix := ""
		if sessions == 1 {
			suffix = "-alone"
		}
		b.Run("sqlite"+suffix, func(b *testing.B) {
			s, err := OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "postseal.db"), benchKey(b))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			benchPuts(b, s, sessions)
		})
		b.Run("postgres"+suffix, func(b *testing.B) {
			s, err := OpenPostgres(context.Background(), pgtest.DSN(b), benchKey(b))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			benchPuts(b, s, sessions)
		})
	}
}

func benchKey(b *testing.B) *MasterKey {
	k, err := LoadMasterKey(filepath.Join(b.TempDir(), "master.key"), true)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

// benchPuts puts b.N envelopes from sessions goroutines (20, or 1).
func benchPuts(b *testing.B, s Store, sessions int) {
	var n atomic.Int64
	payload := bytes.Repeat([]byte("wcFMA5xRl0Zm4rWcARAAq2b3+1n7\r\n"), 8192/30)
	now := time.Now()
	cpu0 := cpuTime()
	put := func() error {
		id := fmt.Sprintf("env%09d", n.Add(1))
		e := Envelope{ID: id, QueueID: "4XQ1ABCDEF", Sender: "bench@example.org", Recipients: []string{"bench@partner.example.net"},
			Kind: "keyservice", Trigger: "subject", Created: now, Expires: now.Add(30 * 24 * time.Hour), Subject: "bench seal",
			MessageID: "<" + id + "@example.org>", Reply: []string{"reply"}, ReplyAll: []string{"bench@partner.example.net"},
			PayloadDigest: "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab",
			Online:        &OnlineCopy{Payload: payload, Meta: `{"subject":"bench seal"}`, Expires: now.Add(8 * time.Hour)}}
		return s.PutEnvelope(context.Background(), e, make([]byte, 32))
	}
	b.ResetTimer()
	if sessions == 1 {
		for range b.N {
			if err := put(); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.SetParallelism(sessions / runtime.GOMAXPROCS(0))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := put(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}

// cpuTime is this process's user and system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

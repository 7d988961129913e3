package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	"github.com/postseal/postseal/envelope"
)

// ---- securedoc-small ---------------------------------------------------------

// securedocSmall measures the securedoc page (as sent) for a 2 KB and a
// 20 KB message, with the decryptor linked (securedoc-small) and embedded
// (securedoc-small-embedded).
func securedocSmall() []Row {
	const cres = 108_000.0
	var rows []Row
	for _, v := range []struct {
		name, goal string
		d          envelope.Decryptor
	}{{"securedoc-small", "≤ 24 KB", envelope.DecryptorLinked}, {"securedoc-small-embedded", "≤ 150 KB", envelope.DecryptorEmbedded}} {
		opts := sealOpts
		opts.Decryptor = v.d
		size := map[int]int{}
		var cte string
		for _, n := range []int{2048, 20480} {
			s, err := sealWith(textMessage(n, 3), opts)
			if err != nil {
				return append(rows, notRun(v.name, v.goal, "envelope.Seal fails: "+err.Error()))
			}
			b, enc, err := securedocOf(s)
			if err != nil {
				return append(rows, Row{Name: v.name, Goal: v.goal, Note: "failed: " + err.Error()})
			}
			size[n], cte = len(b), enc
		}
		n := float64(size[2048])
		rows = append(rows, Row{Name: v.name, Unit: "bytes", Value: f(n), Baseline: f(cres), Ratio: f(n / cres), Goal: v.goal,
			Note: fmt.Sprintf("securedoc page for a 2 KB message as sent (%s), decryptor %s; for a 20 KB message %d bytes; baseline Cisco CRES ~108 KB", cte, v.d, size[20480])})
	}
	return rows
}

// securedocOf returns the securedoc page of a sealed copy and its transfer
// encoding.
func securedocOf(s *envelope.Sealed) ([]byte, string, error) {
	var ct string
	for _, h := range s.Header {
		if strings.EqualFold(h.Name, "Content-Type") {
			ct = h.Value
		}
	}
	_, params, err := mime.ParseMediaType(ct)
	if err != nil || params["boundary"] == "" {
		return nil, "", fmt.Errorf("sealed Content-Type %q: %v", ct, err)
	}
	mr := multipart.NewReader(bytes.NewReader(s.Body), params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return nil, "", errors.New("no securedoc attachment in the sealed body")
		}
		if err != nil {
			return nil, "", err
		}
		if strings.HasPrefix(p.FileName(), "securedoc") {
			b, err := io.ReadAll(p)
			return b, p.Header.Get("Content-Transfer-Encoding"), err
		}
	}
}

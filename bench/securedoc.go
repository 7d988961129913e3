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

func securedocSmall() Row {
	const goal, cres = "≤ 150 KB", 108_000.0
	msg := textMessage(2048, 3)
	s, err := sealOnce(msg)
	if err != nil {
		return notRun("securedoc-small", goal, "envelope.Seal fails: "+err.Error())
	}
	b, cte, err := securedocOf(s)
	if err != nil {
		return Row{Name: "securedoc-small", Goal: goal, Note: "failed: " + err.Error()}
	}
	n := float64(len(b))
	return Row{Name: "securedoc-small", Unit: "bytes", Value: f(n), Baseline: f(cres), Ratio: f(n / cres), Goal: goal,
		Note: fmt.Sprintf("securedoc page for a %d-byte message (as sent, %s); baseline Cisco CRES ~108 KB", len(msg), cte)}
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

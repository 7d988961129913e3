package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// delivered is the bench message's header as the sink holds it without a
// milter; received, date and id vary per message.
func delivered(received, id, subject string, more ...hfield) []hfield {
	h := []hfield{
		{"Return-Path", "<bench@example.org>"},
		{"X-Original-To", "bench@partner.example.net"},
		{"Delivered-To", "bench@partner.example.net"},
		{"Received", "from client.example.net (localhost [127.0.0.1])\n\tby mta.example.net (Postfix) with SMTP id " + received},
		{"From", "<bench@example.org>"},
		{"To", "<bench@partner.example.net>"},
		{"Date", "Thu,  3 Dec 2026 22:12:0" + id + " +0000 (UTC)"},
		{"Message-Id", "<" + id + ".0003.0000@client.example.net>"},
	}
	if subject != "" {
		h = append(h, hfield{"Subject", subject})
	}
	return append(h, more...)
}

// applyEdits is what the replace mode of the do-nothing milter does to a
// header with the edits (bench/nullmilter).
func applyEdits(h []hfield, e headerEdits) []hfield {
	var out []hfield
	subjects := 0
	for _, f := range h {
		switch {
		case strings.EqualFold(f.Name, "Subject") && e.Subject != nil:
			if subjects++; subjects == 1 {
				out = append(out, hfield{f.Name, *e.Subject})
			}
		case !slices.ContainsFunc(e.Remove, func(n string) bool { return strings.EqualFold(n, f.Name) }):
			out = append(out, f)
		}
	}
	if e.Subject != nil && subjects == 0 {
		out = append(out, hfield{"Subject", *e.Subject})
	}
	return append(out, e.Add...)
}

func ptr(s string) *string { return &s }

func TestDeriveEdits(t *testing.T) {
	mime := []hfield{{"MIME-Version", "1.0"}, {"Content-Type", "text/plain; charset=us-ascii"}, {"Content-Transfer-Encoding", "7bit"}}
	sealedMIME := []hfield{{"MIME-Version", "1.0"}, {"Content-Type", "multipart/mixed; boundary=\"postseal-1b59\""}}
	env := hfield{"X-Postseal-Envelope", "yakjavyo3azmep53vtcnoufl2a"}
	trace := hfield{"X-Trace", "a"}
	for _, tc := range []struct {
		name         string
		orig, sealed []hfield
		want         headerEdits
		err          string
	}{{
		name:   "the bench message: subject changed, three fields added",
		orig:   delivered("5BB1D98493E", "3", "*secure* bench seal"),
		sealed: delivered("7EB02984948", "4", "bench seal [-Encrypted-]", append(sealedMIME, env)...),
		want:   headerEdits{Subject: ptr("bench seal [-Encrypted-]"), Add: append(sealedMIME, env)},
	}, {
		name:   "MIME fields removed before a kept field, the same MIME-Version added again",
		orig:   delivered("A", "1", "s", append(mime, trace)...),
		sealed: delivered("B", "2", "s [-Encrypted-]", append([]hfield{trace}, append(sealedMIME, env)...)...),
		want:   headerEdits{Remove: []string{"MIME-Version", "Content-Type", "Content-Transfer-Encoding"}, Subject: ptr("s [-Encrypted-]"), Add: append(sealedMIME, env)},
	}, {
		name:   "MIME fields last: an unchanged MIME-Version counts as kept",
		orig:   delivered("A", "1", "s", mime...),
		sealed: delivered("B", "2", "s", append(slices.Clone(sealedMIME), env)...),
		want:   headerEdits{Remove: []string{"Content-Type", "Content-Transfer-Encoding"}, Add: []hfield{sealedMIME[1], env}},
	}, {
		name:   "a second Subject goes with the change of the first",
		orig:   delivered("A", "1", "one", hfield{"Subject", "two"}),
		sealed: delivered("B", "2", "new", env),
		want:   headerEdits{Subject: ptr("new"), Add: []hfield{env}},
	}, {
		name:   "no Subject before: it is added",
		orig:   delivered("A", "1", ""),
		sealed: delivered("B", "2", "", hfield{"Subject", "new"}, env),
		want:   headerEdits{Add: []hfield{{"Subject", "new"}, env}},
	}, {
		name:   "nothing changed but the per-message values",
		orig:   delivered("A", "1", "s", trace),
		sealed: delivered("B", "2", "s", trace),
	}, {
		name:   "a field whose value changed in place is removed and added",
		orig:   delivered("A", "1", "s", trace, hfield{"X-Other", "b"}),
		sealed: delivered("B", "2", "s", hfield{"X-Trace", "changed"}, hfield{"X-Other", "b"}),
		want:   headerEdits{Remove: []string{"X-Trace", "X-Other"}, Add: []hfield{{"X-Trace", "changed"}, {"X-Other", "b"}}},
	}, {
		name:   "a name removed only in part",
		orig:   delivered("A", "1", "s", trace, hfield{"X-Trace", "b"}),
		sealed: delivered("B", "2", "s", trace, env),
		err:    "X-Trace: some fields of that name removed, others kept",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := deriveEdits(tc.orig, tc.sealed)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %q (edits %+v)", err, tc.err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Remove, tc.want.Remove) || !reflect.DeepEqual(got.Add, tc.want.Add) || !reflect.DeepEqual(got.Subject, tc.want.Subject) {
				t.Fatalf("edits = remove %q, subject %q, add %q\nwant    remove %q, subject %q, add %q",
					got.Remove, deref(got.Subject), got.Add, tc.want.Remove, deref(tc.want.Subject), tc.want.Add)
			}
			// The edits made to the original give the sealed header, but
			// for the values Postfix writes anew for each message.
			made := applyEdits(tc.orig, got)
			if len(made) != len(tc.sealed) {
				t.Fatalf("applied: %q\nsealed:  %q", made, tc.sealed)
			}
			for i := range made {
				perMsg := slices.Contains([]string{"received", "date", "message-id"}, strings.ToLower(made[i].Name))
				if made[i].Name != tc.sealed[i].Name || (!perMsg && made[i].Value != tc.sealed[i].Value) {
					t.Fatalf("field %d applied %q, sealed %q", i, made[i], tc.sealed[i])
				}
			}
		})
	}
}

func TestSplitMessage(t *testing.T) {
	h, body, err := splitMessage([]byte("Received: from a\n\tby b\nSubject:  two blanks\nX-Empty:\n\nbody\n\nmore\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []hfield{{"Received", "from a\n\tby b"}, {"Subject", " two blanks"}, {"X-Empty", ""}}
	if !reflect.DeepEqual(h, want) || string(body) != "body\n\nmore\n" {
		t.Fatalf("got %q, body %q", h, body)
	}
	for _, bad := range []string{"Subject: no end of header\n", "\tcontinued\nSubject: s\n\nb", "Not a field\n\nb", ": no name\n\nb"} {
		if h, _, err := splitMessage([]byte(bad)); err == nil {
			t.Errorf("%q: no error, fields %q", bad, h)
		}
	}
}

func TestHeaderEditsArgs(t *testing.T) {
	e := headerEdits{Remove: []string{"Content-Type"}, Subject: ptr("new"), Add: []hfield{{"X-A", "1\n\t2"}, {"X-B", ""}}}
	want := []string{"-body", "F", "-remove", "Content-Type", "-subject", "new", "-add", "X-A: 1\n\t2", "-add", "X-B: "}
	if got := e.args("F"); !reflect.DeepEqual(got, want) {
		t.Fatalf("args = %q, want %q", got, want)
	}
	if got := (headerEdits{}).args("F"); !reflect.DeepEqual(got, []string{"-body", "F"}) {
		t.Fatalf("no edits: args = %q", got)
	}
}

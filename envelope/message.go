package envelope

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// maxHeaderBytes bounds how much of the original WriteMessage reads looking
// for the end of the header.
const maxHeaderBytes = 1 << 20

// WriteMessage writes a whole sealed message: the original header with its
// MIME fields (MIME-Version, Content-Type, Content-Transfer-Encoding,
// Content-*), Subject and any X-Postseal-Envelope removed, a Subject of
// newSubject (encoded), the sealed header fields, a blank line and the
// sealed body. Used for re-injection and `postseal seal`.
//
// Kept fields are copied byte for byte (folding included) with CRLF line
// ends. Lines in the original header that are not fields (an mbox "From "
// line, garbage) are dropped. The Subject is omitted only when newSubject is
// empty and the original had none. Only the header of original is read.
func WriteMessage(w io.Writer, original io.Reader, newSubject string, s *Sealed, drop ...string) error {
	if s == nil {
		return errors.New("write message: nothing sealed")
	}
	bw := bufio.NewWriter(w)
	hadSubject, err := copyHeader(bw, original, drop)
	if err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	if newSubject != "" || hadSubject {
		if newSubject == "" {
			bw.WriteString("Subject:\r\n")
		} else {
			bw.WriteString(subjectPrefix + EncodeSubject(newSubject) + "\r\n")
		}
	}
	for _, f := range s.Header {
		if strings.ContainsAny(f.Name+f.Value, "\r\n") {
			return fmt.Errorf("write message: header field %q contains a line break", f.Name)
		}
		bw.WriteString(f.Name + ": " + f.Value + "\r\n")
	}
	bw.WriteString("\r\n")
	bw.Write(s.Body)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	return nil
}

// copyHeader copies the fields of the original header that the sealed
// message keeps (less those named in drop), and reports whether the original had a Subject.
func copyHeader(w *bufio.Writer, original io.Reader, drop []string) (hadSubject bool, err error) {
	r := bufio.NewReader(io.LimitReader(original, maxHeaderBytes+1))
	var field []string // raw lines of the current field, without line ends
	flush := func() {
		if len(field) == 0 {
			return
		}
		name, _, _ := strings.Cut(field[0], ":")
		name = strings.TrimRight(name, " \t")
		if strings.EqualFold(name, "Subject") {
			hadSubject = true
		}
		if keepField(name) && !slices.ContainsFunc(drop, func(d string) bool { return strings.EqualFold(d, name) }) {
			for _, l := range field {
				w.WriteString(l + "\r\n")
			}
		}
		field = field[:0]
	}
	defer flush()
	read := 0
	for {
		raw, err := r.ReadString('\n')
		read += len(raw)
		if read > maxHeaderBytes {
			return hadSubject, fmt.Errorf("original header exceeds %d bytes", maxHeaderBytes)
		}
		if err != nil && err != io.EOF {
			return hadSubject, fmt.Errorf("read original header: %w", err)
		}
		line := strings.TrimRight(raw, "\r\n")
		switch {
		case line == "":
			return hadSubject, nil // end of header (or of a header-only message)
		case isWSP(line[0]):
			if len(field) > 0 {
				field = append(field, line)
			}
		case isFieldStart(line):
			flush()
			field = append(field, line)
		default:
			flush() // not a field: dropped
		}
		if err == io.EOF {
			return hadSubject, nil
		}
	}
}

// isFieldStart reports whether line starts a header field: a name of
// printable ASCII other than ':' followed by a colon (RFC 5322 §3.6.8),
// tolerating the obsolete whitespace before the colon.
func isFieldStart(line string) bool {
	name, _, ok := strings.Cut(line, ":")
	name = strings.TrimRight(name, " \t")
	if !ok || name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x21 || name[i] > 0x7e {
			return false
		}
	}
	return true
}

// keepField decides which original fields survive: everything but the
// subject (rewritten), the fields that describe the original body (the body
// is replaced) and X-Postseal-Envelope (incoming headers are never trusted).
func keepField(name string) bool {
	n := strings.ToLower(name)
	switch {
	case n == "subject", n == "mime-version", n == "x-postseal-envelope":
		return false
	case strings.HasPrefix(n, "content-"):
		return false
	}
	return true
}

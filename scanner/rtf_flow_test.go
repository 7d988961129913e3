package scanner

import (
	"strings"
	"testing"
)

// A number that something read apart splits is whole in the flow view,
// whose line is added with the line before it: the words a detector needs
// before the number stay with it.
func TestRTFFlowContext(t *testing.T) {
	filler := strings.Repeat("Nothing of note here.\\par ", 40)
	for _, rtf := range []string{
		`{\rtf1\ansi Patient SSN\par 536-22-{\*\x 99}1234\par ` + filler + `}`,
		`{\rtf1\ansi Patient SSN\par 536221{\*\annotation note}234\par ` + filler + `}`,
		`{\rtf1\ansi Patient SSN\par 53622{\*\x 9}1234\par ` + filler + `}`,
	} {
		x := extract(t, multipartMsg("m", attachment("p.rtf", "application/rtf", []byte(rtf))), Limits{})
		found := false
		for _, f := range Scan(x.Text(), Options{}) {
			found = found || f.Detector == "us_ssn"
		}
		if !found {
			t.Errorf("%s: no SSN in %q", rtf, x.Text())
		}
	}
}

package envelope

import (
	"strings"
	"testing"

	"github.com/postseal/postseal/config"
)

// The longest organisation name config accepts, in the characters the page
// escapes longest (&#128512; is 9 octets), must seal in every language and
// page variant: a name written twice on one page line made every seal
// fail ("line 46 is 1052 octets long") with 50 CJK characters.
func TestLongestOrganisationNameSeals(t *testing.T) {
	for _, name := range []string{
		strings.Repeat("😀", config.MaxOrgNameRunes),
		strings.Repeat("病院", config.MaxOrgNameRunes/2),
		strings.Repeat("Wide Hospital ", config.MaxOrgNameRunes/14+1)[:config.MaxOrgNameRunes],
	} {
		for _, lang := range []string{"en", "es"} {
			for _, shared := range []bool{false, true} {
				opts := testOptions()
				opts.OrgName, opts.Language = name, lang
				req := testRequest(textMessage())
				if shared {
					req.Password = []byte("correct horse battery staple")
				}
				if _, err := Seal(req, opts); err != nil {
					t.Errorf("%d-character name %.12q…, %s, shared password %v: %v", len([]rune(name)), name, lang, shared, err)
				}
			}
		}
	}
}

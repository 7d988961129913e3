package config

import (
	"fmt"
	"strings"
)

// The settings that take one of a few words have a type each, so that code
// compares against named constants and a misspelt value does not compile.

// Position is where a trigger's tag must stand in the subject or header.
type Position string

const (
	PositionAnywhere Position = "anywhere"
	PositionPrefix   Position = "prefix"
)

// MarkerPosition is where a trigger's marker goes in the rewritten subject.
type MarkerPosition string

const (
	// MarkerAppend removes the tag and appends the marker.
	MarkerAppend MarkerPosition = "append"
	// MarkerReplace puts the marker where the tag stood.
	MarkerReplace MarkerPosition = "replace"
)

// ScanMode is what the scanner's findings do.
type ScanMode string

const (
	// ScanEncrypt seals what the scanner flags.
	ScanEncrypt ScanMode = "encrypt"
	// ScanReport logs and counts findings and delivers untouched (tuning).
	ScanReport ScanMode = "report"
)

// Unreadable is what parts the scanner cannot read do to a message.
type Unreadable string

const (
	// UnreadableEncrypt: what cannot be checked is not sent in the clear.
	UnreadableEncrypt Unreadable = "encrypt"
	// UnreadableIgnore judges a message by what could be read of it.
	UnreadableIgnore Unreadable = "ignore"
)

// Mixed is how a sealed message to internal and external recipients is
// delivered.
type Mixed string

const (
	// MixedSplit: internal recipients get the original, external ones the envelope.
	MixedSplit Mixed = "split"
	// MixedEncryptAll: everybody gets the envelope.
	MixedEncryptAll Mixed = "encrypt-all"
)

// Profile is the OpenPGP profile of the envelopes.
type Profile string

const (
	// ProfileRFC4880: SKESK v4 + SEIPD v1, AES-256, readable by GnuPG.
	ProfileRFC4880 Profile = "rfc4880"
	// ProfileRFC9580: SKESK v6 + SEIPD v2 AES-256-GCM, Argon2 for passwords.
	ProfileRFC9580 Profile = "rfc9580"
)

// Decryptor is how a securedoc gets the code that opens it.
type Decryptor string

const (
	// DecryptorLinked: the page loads it from the key service, pinned by
	// its hash (pages of a few KB).
	DecryptorLinked Decryptor = "linked"
	// DecryptorEmbedded: the page carries it and opens with no network.
	DecryptorEmbedded Decryptor = "embedded"
)

// OuterSubject is the subject sealed copies carry in clear.
type OuterSubject string

const (
	// OuterKeep: the sender's subject, tag removed, marker placed.
	OuterKeep OuterSubject = "keep"
	// OuterNeutral: the marker and "Secure message from <organisation>";
	// the real subject travels only inside the payload.
	OuterNeutral OuterSubject = "neutral"
)

// ReplyKind is one way a recipient may answer from the opened message.
type ReplyKind string

const (
	ReplyToSender ReplyKind = "reply"
	ReplyToAll    ReplyKind = "reply-all"
	ReplyForward  ReplyKind = "forward"
)

// AllReplyKinds is the default of [reply] allow.
var AllReplyKinds = []ReplyKind{ReplyToSender, ReplyToAll, ReplyForward}

// oneOf checks that v is one of the allowed words and names them otherwise.
func oneOf[T ~string](key string, v T, allowed ...T) error {
	var names []string
	for _, a := range allowed {
		if v == a {
			return nil
		}
		names = append(names, fmt.Sprintf("%q", a))
	}
	return keyErr(key, "must be %s, not %q", strings.Join(names, " or "), v)
}

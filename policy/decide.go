package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/store"
)

// Stage is how much of a message the facts describe.
type Stage int

const (
	// AtHeader: the envelope and the header; the body has not been sent.
	AtHeader Stage = iota
	// AtEnd: the whole message.
	AtEnd
)

// Facts are what is known of a message when it is decided.
type Facts struct {
	Stage Stage
	// Sender is the envelope sender, Rcpts the envelope recipients.
	Sender string
	Rcpts  []string
	// Header is the header as received.
	Header Header
	// Size is the bytes seen: the header at AtHeader, the whole message at AtEnd.
	Size int64
	// BodyKept (AtEnd): the whole body was kept. False when it was larger
	// than the decision at the end of the header asked to keep.
	BodyKept bool
	// Scan (AtEnd) runs the content scanner over the whole message. The
	// decision calls it at most once, and only when scanning applies.
	Scan func() ScanReport
	// MaxHeaders is the most header fields a message may have (0: MaxHeaders).
	MaxHeaders int
}

// MaxHeaders is the default cap on header fields: a message with more is
// refused rather than filtered on a part of its header.
const MaxHeaders = 10000

// Action is what the MTA is told to do with a message.
type Action string

const (
	// Pass delivers the message as received.
	Pass Action = "pass"
	// NeedBody (AtHeader only): the body decides; keep Decision.KeepBody bytes of it.
	NeedBody Action = "need-body"
	// Seal delivers the copies in Decision.Groups.
	Seal Action = "seal"
	// Reject refuses the message for good (5xx).
	Reject Action = "reject"
	// TempFail asks the MTA to try again later (4xx).
	TempFail Action = "temp-fail"
)

// Reason names why a decision was taken; logs, metrics and tests use it.
type Reason string

const (
	ReasonNoTrigger        Reason = "no-trigger"
	ReasonInternalOnly     Reason = "internal-only"
	ReasonTrigger          Reason = "trigger"
	ReasonScanner          Reason = "scanner"
	ReasonScannerClean     Reason = "scanner-clean"
	ReasonScannerReport    Reason = "scanner-report"
	ReasonNotScanned       Reason = "not-scanned"
	ReasonTooLarge         Reason = "too-large"
	ReasonTooLargeFindings Reason = "too-large-findings"
	ReasonTooManyHeaders   Reason = "too-many-headers"
	ReasonBodyNeeded       Reason = "body-needed"
)

// Treatment is what one group of recipients gets.
type Treatment string

const (
	// Clear: the original message, untouched.
	Clear Treatment = "clear"
	// KeyService: an envelope opened with a key from the key service.
	KeyService = Treatment(store.KindKeyService)
	// SharedPassword: an envelope opened offline with a partner's password.
	SharedPassword = Treatment(store.KindSharedPassword)
)

// ScanTrigger is the trigger name of mail the scanner sealed.
const ScanTrigger = "scanner"

// Options are the settings of one sealed copy.
type Options struct {
	ExpireAfter  config.Expiry       `json:"expire_after"`
	ReadReceipt  bool                `json:"read_receipt"`
	Reply        []config.ReplyKind  `json:"reply"`
	OuterSubject config.OuterSubject `json:"outer_subject"`
}

// Group is a set of recipients that get the same copy of a message.
type Group struct {
	Treatment  Treatment `json:"treatment"`
	Domain     string    `json:"domain,omitempty"` // the partner domain, for SharedPassword
	Recipients []string  `json:"recipients"`
	// Trigger is what sealed this copy ("" for a clear one).
	Trigger string `json:"trigger,omitempty"`
	// Subject is the subject this copy carries in clear (sealed copies).
	Subject string `json:"subject,omitempty"`
	// Options apply to sealed copies.
	Options *Options `json:"options,omitempty"`
}

// Sealed reports whether the group gets an envelope.
func (g Group) Sealed() bool { return g.Treatment != Clear }

// Decision is the one answer for a message at one stage.
type Decision struct {
	Action Action `json:"action"`
	// Code and Text are the SMTP reply for Reject and TempFail.
	Code int    `json:"code,omitempty"`
	Text string `json:"text,omitempty"`
	// Reason names the rule that decided; Why says it in words.
	Reason Reason `json:"reason"`
	Why    string `json:"why"`
	// Trigger is the first trigger that fired ("scanner" for the scanner)
	// and Match what made it hold.
	Trigger string `json:"trigger"`
	Match   Match  `json:"match,omitempty"`
	// OriginalSubject is the decoded subject as received; Subject is what
	// the first sealed copy carries.
	OriginalSubject string `json:"original_subject"`
	Subject         string `json:"subject"`
	// Groups lists the copies to make, clear first.
	Groups []Group `json:"treatment"`
	// Scan is what the content scanner found, when it looked.
	Scan *ScanReport `json:"scan,omitempty"`
	// Report: the scanner would have sealed the message but runs in
	// report mode, so it is delivered untouched.
	Report bool `json:"report,omitempty"`
	// Notify: the sender gets the scanner's notice.
	Notify bool `json:"notify,omitempty"`
	// RemoveFields are header fields the sealed copies must not carry (a
	// header trigger's field).
	RemoveFields []string `json:"remove_fields,omitempty"`
	// KeepBody (NeedBody) is how many bytes of the body to keep; a larger
	// body is counted, not kept, and the end of the message decides.
	KeepBody int64 `json:"-"`
}

// The replies people read. One wording per refusal.
const (
	textTempFail       = "4.3.0 postseal could not secure this message right now; it will be retried"
	textTooManyHeaders = "5.3.4 This message has too many header fields to be checked."
)

func textTooLarge(size, limit int64) string {
	return fmt.Sprintf("5.3.4 This message is too large to be sent securely (%s; the limit is %s). Send large files another way or split the message.", humanSize(size), humanSize(limit))
}

func textTooLargeFindings(what string, size, limit int64) string {
	return fmt.Sprintf("5.3.4 This message %s and is too large to encrypt (%s; the limit is %s). Send large files another way or split the message.", what, humanSize(size), humanSize(limit))
}

// TempFailDecision is the answer when something failed on the way: the
// MTA keeps the message and retries. why is for the log.
func TempFailDecision(why string) Decision {
	return Decision{Action: TempFail, Code: 451, Text: textTempFail, Reason: ReasonNotScanned, Why: why}
}

// SMTP returns the reply code and text of a decision (0 to accept).
func (d Decision) SMTP() (int, string) {
	switch d.Action {
	case Reject, TempFail:
		return d.Code, d.Text
	}
	return 0, ""
}

// firing is a trigger that holds for the message, with the subject it
// gives the sealed copies.
type firing struct {
	t       *config.Trigger
	subject string
	match   Match
}

// Match is what made a trigger hold for a message.
type Match string

const (
	MatchTag        Match = "tag"        // its tag in the subject
	MatchHeader     Match = "header"     // its tag in its header field
	MatchMarker     Match = "marker"     // its marker in the subject: a reply to sealed mail
	MatchConditions Match = "conditions" // no tag: its sender/recipient conditions
)

// Decide is the one decision for a message at a stage. It is pure: the
// only work it starts is f.Scan, and only when scanning applies. The table
// it implements is in docs/ARCHITECTURE.md ("The decision").
func Decide(cfg *config.Config, f Facts) Decision {
	d := Decision{OriginalSubject: f.Header.Subject()}
	d.Subject = d.OriginalSubject
	maxFields := f.MaxHeaders
	if maxFields <= 0 {
		maxFields = MaxHeaders
	}
	if len(f.Header) >= maxFields {
		return refuse(d, ReasonTooManyHeaders, "too many header fields", textTooManyHeaders)
	}
	fired := firings(cfg, f)
	limit := int64(cfg.Milter.MaxSecureSize)

	// Who gets what before the scanner: each external recipient is sealed
	// by the first trigger that applies to them; internal recipients and
	// external ones no trigger applies to get the original, or are left to
	// the scanner.
	var clear, pending []string
	var sealed []Group
	for _, r := range f.Rcpts {
		if cfg.IsInternal(r) {
			clear = append(clear, r)
			continue
		}
		i := slices.IndexFunc(fired, func(x firing) bool { return x.t.MatchRecipient(r) })
		switch {
		case i >= 0:
			sealed = addTo(sealed, cfg, r, fired[i].t.Name, fired[i].subject, options(cfg, fired[i].t))
		case cfg.Scanner.Enabled:
			pending = append(pending, r)
		default:
			clear = append(clear, r)
		}
	}
	scanTriggered := slices.ContainsFunc(sealed, func(g Group) bool { return triggerByName(cfg, g.Trigger).Scan })
	if len(sealed) > 0 {
		d.Trigger, d.Subject = sealed[0].Trigger, sealed[0].Subject
		d.Match = matchOf(fired, d.Trigger)
		for _, x := range fired {
			if x.t.Header != "" && !slices.Contains(d.RemoveFields, x.t.Header) {
				d.RemoveFields = append(d.RemoveFields, x.t.Header)
			}
		}
	}

	if f.Stage == AtHeader {
		switch {
		case len(sealed) > 0 && f.Size > limit:
			return refuse(d, ReasonTooLarge, fmt.Sprintf("triggered, but the header alone (%s) is larger than the secure limit (%s)", humanSize(f.Size), humanSize(limit)), textTooLarge(f.Size, limit))
		case len(sealed) > 0 || len(pending) > 0:
			d.Action, d.Reason, d.Why = NeedBody, ReasonBodyNeeded, "the body decides"
			d.KeepBody = limit
			if len(pending) > 0 || scanTriggered {
				d.KeepBody = max(limit, int64(cfg.Scanner.MaxSize))
			}
			d.Groups = groups(cfg, clear, pending, sealed, true)
			return d
		}
		return pass(d, cfg, f.Rcpts, fired)
	}

	if len(sealed) > 0 && (!f.BodyKept || f.Size > limit) {
		return refuse(d, ReasonTooLarge, fmt.Sprintf("triggered, but the message (%s) is larger than the secure limit (%s)", humanSize(f.Size), humanSize(limit)), textTooLarge(f.Size, limit))
	}
	if len(pending) > 0 || scanTriggered {
		var rep ScanReport
		switch {
		case !f.BodyKept:
			rep = notScanned(f.Size, int64(cfg.Scanner.MaxSize))
		case f.Scan == nil:
			return TempFailDecision("no scanner to decide with")
		default:
			rep = f.Scan()
		}
		d.Scan = &rep
		sc := cfg.Scanner
		hits := len(rep.Findings) > 0 || (rep.unreadable() && sc.Unreadable == config.UnreadableEncrypt)
		if len(pending) > 0 {
			switch {
			case !hits && rep.Interrupted && sc.Mode != config.ScanReport:
				// "unreadable = ignore" judges what could be read; a scan
				// cut short by load or a spool that cannot be read back
				// is no verdict at all.
				return TempFailDecision("message not scanned to the end (deadline or spool read error)")
			case !hits:
				clear = append(clear, pending...)
			case sc.Mode == config.ScanReport:
				d.Report = true
				clear = append(clear, pending...)
			case f.Size > limit:
				what := "contains " + describeFindings(rep)
				return refuse(d, ReasonTooLargeFindings, fmt.Sprintf("the scanner found %s, but the message (%s) is larger than the secure limit (%s)", describeFindings(rep), humanSize(f.Size), humanSize(limit)), textTooLargeFindings(what, f.Size, limit))
			default:
				subject := MarkSubject(d.OriginalSubject, sc.Marker)
				opts := defaultOptions(cfg)
				if opts.OuterSubject == config.OuterNeutral {
					subject = neutralSubject(cfg, sc.Marker)
				}
				for _, r := range pending {
					sealed = addTo(sealed, cfg, r, ScanTrigger, subject, opts)
				}
				d.Notify = sc.NotifySender
			}
		}
		if len(rep.Findings) > 0 && scanTriggered {
			// A trigger with scan = true: the scanner's marker and notice
			// apply to what the trigger sealed.
			for i := range sealed {
				if triggerByName(cfg, sealed[i].Trigger).Scan && sealed[i].Options.OuterSubject == config.OuterKeep {
					sealed[i].Subject = MarkSubject(sealed[i].Subject, sc.Marker)
				}
			}
			d.Notify = sc.NotifySender
		}
	}
	if len(sealed) == 0 {
		d.Groups = groups(cfg, clear, nil, nil, false)
		d.Action = Pass
		switch {
		case d.Scan != nil && d.Report:
			d.Reason, d.Why = ReasonScannerReport, "the scanner found "+describeFindings(*d.Scan)+"; report mode delivers it untouched"
		case d.Scan != nil:
			d.Reason, d.Why = ReasonScannerClean, "the scanner found nothing"
			if d.Scan.unreadable() {
				d.Why += " it could read (unreadable = \"ignore\")"
			}
		default:
			return pass(d, cfg, f.Rcpts, fired)
		}
		return d
	}
	d.Action = Seal
	d.Groups = groups(cfg, clear, nil, sealed, false)
	d.Trigger, d.Subject = d.Groups[firstSealed(d.Groups)].Trigger, d.Groups[firstSealed(d.Groups)].Subject
	d.Match = matchOf(fired, d.Trigger)
	if d.Trigger == ScanTrigger {
		d.Reason, d.Why = ReasonScanner, "the scanner found "+describeFindings(*d.Scan)
	} else {
		d.Reason, d.Why = ReasonTrigger, fmt.Sprintf("trigger %q fired (%s)", d.Trigger, d.Match)
	}
	return d
}

// pass is the decision for a message nothing seals.
func pass(d Decision, cfg *config.Config, rcpts []string, fired []firing) Decision {
	d.Action, d.Reason, d.Why = Pass, ReasonNoTrigger, "no trigger fired"
	for _, x := range fired {
		if slices.ContainsFunc(rcpts, x.t.MatchRecipient) {
			d.Reason, d.Why = ReasonInternalOnly, fmt.Sprintf("trigger %q fired, but every recipient it applies to is internal", x.t.Name)
			break
		}
	}
	d.Trigger, d.Match, d.Subject = "", "", d.OriginalSubject
	d.RemoveFields = nil
	d.Groups = groups(cfg, rcpts, nil, nil, false)
	return d
}

func refuse(d Decision, r Reason, why, text string) Decision {
	d.Action, d.Reason, d.Why = Reject, r, why
	d.Code, d.Text = 552, text
	d.Groups = nil // a refused message has no copies
	return d
}

// firings are the triggers that hold for the message, before their
// recipient conditions: first those whose tag is present or that need no
// tag, in file order, then those whose marker is in the subject (a reply
// to a sealed message is sealed again).
func firings(cfg *config.Config, f Facts) []firing {
	subjects := f.Header.Subjects()
	var tagged, marked []firing
	for i := range cfg.Triggers {
		t := &cfg.Triggers[i]
		if !t.MatchSender(f.Sender) {
			continue
		}
		switch {
		case !t.HasTag():
			tagged = append(tagged, firing{t, markFor(t, first(subjects)), MatchConditions})
		case t.Header != "":
			if slices.ContainsFunc(f.Header.Values(t.Header), func(v string) bool { _, ok := rewrite(t, v); return ok }) {
				tagged = append(tagged, firing{t, markFor(t, first(subjects)), MatchHeader})
			} else if indexFold(first(subjects), t.Marker) >= 0 {
				marked = append(marked, firing{t, first(subjects), MatchMarker})
			}
		default:
			if s, ok := subjectTag(t, subjects); ok {
				tagged = append(tagged, firing{t, s, MatchTag})
			} else if i := slices.IndexFunc(subjects, func(s string) bool { return indexFold(s, t.Marker) >= 0 }); i >= 0 {
				marked = append(marked, firing{t, subjects[i], MatchMarker})
			}
		}
	}
	out := append(tagged, marked...)
	for i := range out {
		if outer(cfg, out[i].t) == config.OuterNeutral {
			out[i].subject = neutralSubject(cfg, out[i].t.Marker)
		}
	}
	return out
}

// subjectTag looks for the tag in every Subject field (a second Subject
// must not hide a tag) and returns the rewritten subject.
func subjectTag(t *config.Trigger, subjects []string) (string, bool) {
	for _, s := range subjects {
		if out, ok := rewrite(t, s); ok {
			return out, true
		}
	}
	return "", false
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

// neutralSubject is the clear subject under outer_subject = "neutral":
// nothing of the sender's subject travels outside the envelope.
func neutralSubject(cfg *config.Config, marker string) string {
	s := cfg.Envelope.NeutralSubject
	if s == "" {
		s = "Secure message from " + cfg.Organization.Name
	}
	return join(marker, s)
}

func outer(cfg *config.Config, t *config.Trigger) config.OuterSubject {
	if t != nil && t.OuterSubject != nil {
		return *t.OuterSubject
	}
	return cfg.Envelope.OuterSubject
}

func defaultOptions(cfg *config.Config) Options {
	return Options{
		ExpireAfter:  cfg.Envelope.ExpireAfter,
		ReadReceipt:  cfg.Envelope.ReadReceipts,
		Reply:        slices.Clone(cfg.Reply.Allow),
		OuterSubject: cfg.Envelope.OuterSubject,
	}
}

func options(cfg *config.Config, t *config.Trigger) Options {
	o := defaultOptions(cfg)
	if t.ExpireAfter != nil {
		o.ExpireAfter = *t.ExpireAfter
	}
	if t.ReadReceipt != nil {
		o.ReadReceipt = *t.ReadReceipt
	}
	if t.Reply != nil {
		o.Reply = slices.Clone(*t.Reply)
	}
	o.OuterSubject = outer(cfg, t)
	return o
}

func triggerByName(cfg *config.Config, name string) *config.Trigger {
	for i := range cfg.Triggers {
		if cfg.Triggers[i].Name == name {
			return &cfg.Triggers[i]
		}
	}
	return &config.Trigger{}
}

// addTo puts an external recipient into the sealed group for its kind
// (key service or its partner domain) and trigger.
func addTo(gs []Group, cfg *config.Config, rcpt, trigger, subject string, o Options) []Group {
	g := Group{Treatment: KeyService, Trigger: trigger, Subject: subject}
	if p := cfg.Partner(rcpt); p != "" {
		g.Treatment, g.Domain = SharedPassword, p
	}
	for i := range gs {
		if gs[i].Treatment == g.Treatment && gs[i].Domain == g.Domain && gs[i].Trigger == trigger {
			gs[i].Recipients = append(gs[i].Recipients, rcpt)
			return gs
		}
	}
	g.Recipients, g.Options = []string{rcpt}, &o
	return append(gs, g)
}

// groups orders the copies: clear first (the copy the milter keeps in
// place under split), then the key service groups, then partners. Under
// mixed_recipients = "encrypt-all" the internal recipients join the first
// key service group — but only when the message is sealed for somebody
// outside: internal-only mail stays as it is. pending recipients (left to
// the scanner) count as clear until it has spoken.
func groups(cfg *config.Config, clear, pending []string, sealed []Group, atHeader bool) []Group {
	rank := func(g Group) int {
		if g.Treatment == KeyService {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(sealed, func(a, b Group) int { return rank(a) - rank(b) })
	internal := clear
	if cfg.Milter.MixedRecipients == config.MixedEncryptAll && len(sealed) > 0 && !atHeader {
		var keep []string
		internal = nil
		for _, r := range clear {
			if cfg.IsInternal(r) {
				internal = append(internal, r)
			} else {
				keep = append(keep, r)
			}
		}
		i := slices.IndexFunc(sealed, func(g Group) bool { return g.Treatment == KeyService })
		if i < 0 {
			o := *sealed[0].Options
			sealed = append([]Group{{Treatment: KeyService, Trigger: sealed[0].Trigger, Subject: sealed[0].Subject, Options: &o}}, sealed...)
			i = 0
		}
		sealed[i].Recipients = append(slices.Clone(internal), sealed[i].Recipients...)
		internal = keep
	}
	var out []Group
	if all := append(slices.Clone(internal), pending...); len(all) > 0 {
		out = append(out, Group{Treatment: Clear, Recipients: all})
	}
	return append(out, sealed...)
}

func matchOf(fired []firing, trigger string) Match {
	for _, x := range fired {
		if x.t.Name == trigger {
			return x.match
		}
	}
	return ""
}

func firstSealed(gs []Group) int {
	for i, g := range gs {
		if g.Sealed() {
			return i
		}
	}
	return 0
}

// Subjects returns the decoded values of every Subject field; of an
// undecodable one also its raw form (unfolded), where the tag may still be.
func (h Header) Subjects() []string {
	var out []string
	for _, raw := range h.Values("Subject") {
		s, err := envelope.DecodeSubject(raw)
		out = append(out, s)
		if err != nil {
			out = append(out, strings.TrimSpace(unfold(raw)))
		}
	}
	return out
}

// Subject is the decoded first Subject ("" for none).
func (h Header) Subject() string {
	for _, raw := range h.Values("Subject") {
		s, _ := envelope.DecodeSubject(raw)
		return s
	}
	return ""
}

// ReplyTrigger is the trigger name of secure replies sealed by the key service.
const ReplyTrigger = "reply"

// DecideReply is the decision for a secure reply (or forward) written on
// an opened message: it travels to internal recipients in the clear and to
// every external one sealed, whatever the triggers say — its text answers
// sealed mail. The subject carries the scanner's marker once, so replies
// to it are sealed again.
func DecideReply(cfg *config.Config, rcpts []string, subject string) Decision {
	d := Decision{Action: Seal, Reason: ReasonTrigger, Why: "a secure reply", Trigger: ReplyTrigger, OriginalSubject: subject}
	d.Subject = MarkSubject(subject, cfg.Scanner.Marker)
	opts := defaultOptions(cfg)
	if opts.OuterSubject == config.OuterNeutral {
		d.Subject = neutralSubject(cfg, cfg.Scanner.Marker)
	}
	// An envelope made by a reply or forward never grants Forward: a chain
	// of forwards would let one recipient send organisation-branded mail
	// anywhere without limit.
	opts.Reply = slices.DeleteFunc(opts.Reply, func(k config.ReplyKind) bool { return k == config.ReplyForward })
	var clear []string
	var sealed []Group
	for _, r := range rcpts {
		if cfg.IsInternal(r) {
			clear = append(clear, r)
			continue
		}
		sealed = addTo(sealed, cfg, r, ReplyTrigger, d.Subject, opts)
	}
	if len(sealed) == 0 {
		d.Action, d.Why, d.Subject = Pass, "a secure reply to internal recipients only", subject
	}
	d.Groups = groups(cfg, clear, nil, sealed, false)
	return d
}

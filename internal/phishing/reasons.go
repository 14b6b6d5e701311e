package phishing

import "sort"

// Reason codes. They are part of the API contract: clients and stored
// reports match on them, so a code is never renamed. The weight of each is
// in weights; a reason of weight 0 is information, not evidence.
const (
	// Sender.
	CodeFromBrandDomain        = "from_brand_domain"
	CodeDisplayNameBrand       = "display_name_brand"
	CodeDisplayNameAddress     = "display_name_address"
	CodeSenderLookalike        = "sender_lookalike_confusable"
	CodeSenderEditDistance     = "sender_lookalike_edit_distance"
	CodeSenderBrandOtherDomain = "sender_brand_other_domain"
	CodeSenderPunycode         = "sender_punycode"
	CodeSenderMixedScript      = "sender_mixed_script"
	CodeBrandSpoofed           = "brand_spoofed"
	CodeBrandUnverified        = "brand_unverified"
	CodeBrandAuthenticated     = "brand_authenticated"
	CodeReplyToDiffers         = "reply_to_differs"

	// Authentication.
	CodeSPFFail       = "spf_fail"
	CodeSPFSoftfail   = "spf_softfail"
	CodeDKIMFail      = "dkim_fail"
	CodeDMARCFail     = "dmarc_fail"
	CodeNotAligned    = "auth_not_aligned"
	CodeNoClientIP    = "spf_no_client_ip"
	CodeDNSNotChecked = "dns_not_checked"
	CodeAuthTemperror = "auth_temperror"

	// Links.
	CodeLinkTextMismatch     = "link_text_mismatch"
	CodeLinkIPLiteral        = "link_ip_literal"
	CodeLinkShortener        = "link_shortener"
	CodeLinkPunycode         = "link_punycode"
	CodeLinkLookalike        = "link_lookalike_confusable"
	CodeLinkEditDistance     = "link_lookalike_edit_distance"
	CodeLinkBrandOtherDomain = "link_brand_other_domain"
	CodeLinkMixedScript      = "link_mixed_script"
	CodeLinkUserinfo         = "link_userinfo"
	CodeLinkDangerousScheme  = "link_dangerous_scheme"
	CodeManyLinks            = "many_links"

	// Content.
	CodeAsksPassword      = "asks_password"
	CodeAsksCode          = "asks_code"
	CodeAsksBankCard      = "asks_bank_or_card"
	CodeAsksVerifyAccount = "asks_verify_account"
	CodeUrgency           = "urgency"

	// Attachments.
	CodeAttachmentExecutable      = "attachment_executable"
	CodeAttachmentMacro           = "attachment_macro_document"
	CodeAttachmentDoubleExtension = "attachment_double_extension"
	CodeAttachmentArchiveHides    = "attachment_archive_hides_executable"
	CodeAttachmentEncrypted       = "attachment_encrypted_archive"
	CodeAttachmentUnlisted        = "attachment_archive_unlisted"
	CodeAttachmentHTML            = "attachment_html"
)

// weights: how much each reason counts towards the verdict.
var weights = map[string]int{
	CodeFromBrandDomain:        0,
	CodeBrandAuthenticated:     0,
	CodeDNSNotChecked:          0,
	CodeAuthTemperror:          0,
	CodeNoClientIP:             0,
	CodeManyLinks:              1,
	CodeDisplayNameBrand:       4,
	CodeDisplayNameAddress:     4,
	CodeSenderLookalike:        6,
	CodeSenderEditDistance:     6,
	CodeSenderBrandOtherDomain: 5,
	CodeSenderPunycode:         2,
	CodeSenderMixedScript:      6,
	CodeBrandSpoofed:           6,
	CodeBrandUnverified:        3,
	CodeReplyToDiffers:         3,

	CodeSPFFail:     2,
	CodeSPFSoftfail: 1,
	CodeDKIMFail:    2,
	CodeDMARCFail:   3,
	CodeNotAligned:  0,

	CodeLinkTextMismatch:     4,
	CodeLinkIPLiteral:        3,
	CodeLinkShortener:        2,
	CodeLinkPunycode:         2,
	CodeLinkLookalike:        6,
	CodeLinkEditDistance:     6,
	CodeLinkBrandOtherDomain: 5,
	CodeLinkMixedScript:      6,
	CodeLinkUserinfo:         4,
	CodeLinkDangerousScheme:  4,

	CodeAsksPassword:      3,
	CodeAsksCode:          3,
	CodeAsksBankCard:      3,
	CodeAsksVerifyAccount: 3,
	CodeUrgency:           2,

	CodeAttachmentExecutable:      6,
	CodeAttachmentMacro:           6,
	CodeAttachmentDoubleExtension: 6,
	CodeAttachmentArchiveHides:    6,
	CodeAttachmentEncrypted:       3,
	CodeAttachmentUnlisted:        2,
	CodeAttachmentHTML:            3,
}

// Verdict thresholds on the score (the sum of the weights of the distinct
// reason codes).
const (
	PhishingScore   = 6
	SuspiciousScore = 3
)

// findings collects reasons; each code counts once towards the score,
// however many links or attachments share it.
type findings struct {
	reasons []Reason
	seen    map[string]bool
}

func (f *findings) add(rs ...Reason) {
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	for _, r := range rs {
		key := r.Code + "\x00" + r.Message
		if f.seen[key] {
			continue
		}
		f.seen[key] = true
		f.reasons = append(f.reasons, r)
	}
}

func (f *findings) verdict() ([]Reason, int, string) {
	codes := map[string]bool{}
	score := 0
	for _, r := range f.reasons {
		if !codes[r.Code] {
			codes[r.Code] = true
			score += weights[r.Code]
		}
	}
	reasons := append([]Reason{}, f.reasons...)
	// Strongest evidence first; stable within a weight.
	sort.SliceStable(reasons, func(i, j int) bool { return weights[reasons[i].Code] > weights[reasons[j].Code] })
	switch {
	case score >= PhishingScore:
		return reasons, score, VerdictPhishing
	case score >= SuspiciousScore:
		return reasons, score, VerdictSuspicious
	}
	return reasons, score, VerdictNoThreatFound
}

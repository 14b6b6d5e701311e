package phishing

import (
	"context"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The content checks look for what the message asks the reader to do, in
// English and Simplified Chinese, using the words of the marketplace's
// published guidance ("never asks you to verify sensitive information by
// email"; "不会通过电子邮件要求您验证敏感信息"). A request counts only when
// a sentence has both a verb of asking and its object and no negation, so
// "we will never ask for your password" is not a request.
var (
	askVerb = regexp.MustCompile(`\b(enter|provide|confirm|verify|update|send|reply|respond|submit|share|type|give|re-?enter|validate|fill in|input|tell us|forward)\b|提供|输入|确认|验证|更新|发送|回复|提交|填写|告诉|核实|告知|转发`)
	negated = regexp.MustCompile(`\b(never|not|don't|dont|won't|doesn't|no one|nobody)\b|不会|请勿|切勿|绝不|不要|从不|从未|决不|不得`)

	asksPassword = regexp.MustCompile(`\b(password|passcode|passphrase|login details|sign-in details|log-in details|credentials)\b|密码|登录信息|登录凭据|登录凭证`)
	asksCode     = regexp.MustCompile(`\b(verification code|security code|one-time (pass)?code|one-time password|otp|2fa code|two-step (verification )?code|sms code|authentication code|backup codes?|authenticator code)\b|验证码|安全码|动态码|校验码|一次性密码|备用码`)
	asksBankCard = regexp.MustCompile(`\b(bank account|account number|routing number|iban|swift|sort code|card number|credit card|debit card|cvv|cvc|expiry date|expiration date|pin|deposit method|payment (information|details)|billing (information|details)|tax (id|information))\b|银行账户|银行帐户|银行账号|银行卡|卡号|信用卡|借记卡|有效期|收款账户|存款方式|付款信息|支付信息|账单信息|税务信息`)

	verifyAccount = regexp.MustCompile(`\b(verify|confirm|validate|reactivate|unlock|restore|re-?verify)\s+(your\s+)?(seller\s+|store\s+)?(account|identity|information|details|access)\b|\bupdate your (account|billing|payment|bank) (information|details)\b|(验证|确认|核实|更新|恢复|解锁|重新激活)(您的|你的)?(卖家)?(账户|帐户|账号|身份|信息|店铺)|确认(是)?(您|你)本人`)
	urgency       = regexp.MustCompile(`\bwithin \d+ (hours?|hrs|days?)\b|\b(immediately|urgent|urgently|as soon as possible|final (notice|warning)|permanently)\b|\bwill be (suspended|closed|locked|deactivated|terminated|deleted|restricted|disabled)\b|\bhas been (suspended|locked|restricted|limited|deactivated|disabled)\b|\b(unusual|suspicious) (activity|sign-in|login)\b|\bavoid (suspension|closure|deactivation)\b|\d+\s*(个)?(小时|天|日)内|立即|立刻|马上|紧急|最后通知|将被(暂停|冻结|关闭|停用|限制|删除|封禁|锁定)|已被(暂停|冻结|限制|停用|封禁|锁定)|永久|异常活动|可疑活动|异常登录`)

	sentenceEnd = regexp.MustCompile(`[.!?;。！？；\n]+`)
)

// maxContentBytes bounds the text the content checks read: what a
// message asks for is in its first lines, and the regular expressions,
// though linear, are not free.
const (
	maxContentBytes  = 64 << 10
	maxSentenceBytes = 1 << 10
)

// contentReasons returns what the text asks for.
func contentReasons(ctx context.Context, text string) []Reason {
	if len(text) > maxContentBytes {
		text = text[:maxContentBytes]
	}
	text = strings.ToLower(norm.NFKC.String(text))
	var password, code, bank, verify, urgent bool
	var sentences []string
	for _, s := range sentenceEnd.Split(text, -1) {
		// A run-on "sentence" is read in pieces, so that each regular
		// expression sees a short input and ctx is checked often.
		for len(s) > maxSentenceBytes {
			cut := maxSentenceBytes
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			sentences = append(sentences, s[:cut])
			s = s[cut:]
		}
		sentences = append(sentences, s)
	}
	for _, s := range sentences {
		if ctx.Err() != nil {
			break
		}
		s = strings.Join(strings.Fields(s), " ")
		if s == "" {
			continue
		}
		if urgency.MatchString(s) {
			urgent = true
		}
		if negated.MatchString(s) {
			continue
		}
		if verifyAccount.MatchString(s) {
			verify = true
		}
		// The verb must stand outside the objects: 验证码 (code) holds 验证 (verify).
		bare := asksCode.ReplaceAllString(asksPassword.ReplaceAllString(asksBankCard.ReplaceAllString(s, " "), " "), " ")
		if !askVerb.MatchString(bare) {
			continue
		}
		password = password || asksPassword.MatchString(s)
		code = code || asksCode.MatchString(s)
		bank = bank || asksBankCard.MatchString(s)
	}
	var rs []Reason
	if password {
		rs = append(rs, Reason{CodeAsksPassword, "the message asks for a password; the platform never asks for it by email"})
	}
	if code {
		rs = append(rs, Reason{CodeAsksCode, "the message asks for a verification code; the platform never asks for one by email"})
	}
	if bank {
		rs = append(rs, Reason{CodeAsksBankCard, "the message asks for bank or card details; the platform never asks for them by email"})
	}
	if verify {
		rs = append(rs, Reason{CodeAsksVerifyAccount, "the message asks you to verify or confirm your account; the platform never asks you to verify sensitive information by email"})
	}
	if urgent {
		rs = append(rs, Reason{CodeUrgency, "the message pushes you to act at once or threatens to close or suspend the account"})
	}
	return rs
}

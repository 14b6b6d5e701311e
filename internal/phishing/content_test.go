package phishing

import (
	"context"
	"slices"
	"testing"
)

func TestContentReasons(t *testing.T) {
	cases := []struct {
		text string
		want []string
	}{
		{"Please confirm your password to keep your account.", []string{CodeAsksPassword}},
		{"Reply with the verification code we sent to your phone.", []string{CodeAsksCode}},
		{"Update your bank account number and card number here", []string{CodeAsksBankCard}},
		{"Verify your account within 24 hours or it will be suspended.", []string{CodeAsksVerifyAccount, CodeUrgency}},
		{"请立即验证您的账户,否则您的店铺将被冻结。", []string{CodeAsksVerifyAccount, CodeUrgency}},
		{"请回复您的密码和短信验证码。", []string{CodeAsksPassword, CodeAsksCode}},
		{"请在24小时内提供您的银行账户和信用卡卡号", []string{CodeAsksBankCard, CodeUrgency}},
		// Guidance, not requests.
		{"SellerGuard will never ask you to verify sensitive information by email. Never share your password or code.", nil},
		{"亚马逊不会通过电子邮件要求您验证敏感信息。请勿向任何人提供您的密码。", nil},
		{"Your verification code is 482913. It expires in 10 minutes.", nil},
		{"您的验证码是 482913,10 分钟内有效。", nil},
		{"Your order has shipped and will arrive on Tuesday.", nil},
		{"Your password was changed. If this wasn't you, secure your account immediately.", []string{CodeUrgency}},
	}
	for _, c := range cases {
		got := codes(contentReasons(context.Background(), c.text))
		slices.Sort(got)
		want := append([]string(nil), c.want...)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%q: got %v, want %v", c.text, got, want)
		}
	}
}

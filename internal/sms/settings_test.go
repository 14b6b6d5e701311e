package sms

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/config"
)

// These tests check the SMS settings of internal/config from here, where
// they are used: together with the gateway they configure.

func loadConfig(t *testing.T, env map[string]string, args ...string) (*config.Config, *flag.FlagSet, error) {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(new(bytes.Buffer))
	c, _, err := config.Register(fs, func(k string) string { return env[k] })
	if err != nil {
		return nil, fs, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, fs, err
	}
	return c, fs, c.Finish()
}

func TestSMSSettingsConfigureTheGateway(t *testing.T) {
	c, _, err := loadConfig(t, nil)
	if err != nil || c.SMS.Enabled() || c.SMS.Timeout != 10*time.Second {
		t.Fatalf("defaults: %+v, %v", c.SMS, err)
	}

	srv := startTwilio(t)
	c, _, err = loadConfig(t, map[string]string{
		"SELLERGUARD_SMS_URL": srv.URL + "/", "SELLERGUARD_SMS_ACCOUNT_SID": testSID,
		"SELLERGUARD_SMS_AUTH_TOKEN": "from-the-environment", "SELLERGUARD_SMS_FROM": testFrom,
	}, "--sms-auth-token", testToken, "--sms-timeout", "3s")
	if err != nil {
		t.Fatal(err)
	}
	if !c.SMS.Enabled() || c.SMS.URL != srv.URL || c.SMS.AuthToken != testToken || c.SMS.Timeout != 3*time.Second {
		t.Fatalf("settings = %+v", c.SMS)
	}
	g := &TwilioGateway{BaseURL: c.SMS.URL, AccountSID: c.SMS.AccountSID, AuthToken: c.SMS.AuthToken, From: c.SMS.From, Timeout: c.SMS.Timeout}
	if _, err := g.Send(context.Background(), Message{To: numberOK, Body: "code 482913"}); err != nil {
		t.Fatal(err)
	}

	for _, from := range []string{"+447400123456", "SellerGuard", "Seller 24", testMG} {
		if _, _, err := loadConfig(t, map[string]string{
			"SELLERGUARD_SMS_URL": "https://api.twilio.com", "SELLERGUARD_SMS_ACCOUNT_SID": testSID,
			"SELLERGUARD_SMS_AUTH_TOKEN": testToken, "SELLERGUARD_SMS_FROM": from,
		}); err != nil {
			t.Errorf("SELLERGUARD_SMS_FROM=%q: %v", from, err)
		}
	}
}

func TestBadSMSSettingsAreRefusedWithoutTheToken(t *testing.T) {
	good := map[string]string{
		"SELLERGUARD_SMS_URL": "https://api.twilio.com", "SELLERGUARD_SMS_ACCOUNT_SID": testSID,
		"SELLERGUARD_SMS_AUTH_TOKEN": testToken, "SELLERGUARD_SMS_FROM": testFrom,
	}
	for _, tc := range []struct {
		env, value, want string
	}{
		{"SELLERGUARD_SMS_URL", "ftp://api.twilio.com", "absolute http or https URL"},
		{"SELLERGUARD_SMS_URL", "api.twilio.com", "absolute http or https URL"},
		{"SELLERGUARD_SMS_URL", "https://api.twilio.com/?x=1", "without query"},
		{"SELLERGUARD_SMS_URL", "https://" + testSID + ":" + testToken + "@api.twilio.com", "must not hold a user or password"},
		{"SELLERGUARD_SMS_URL", "https://x:" + testToken + "@api.twilio.com\x7f", "is not a URL"},
		{"SELLERGUARD_SMS_ACCOUNT_SID", "", "SELLERGUARD_SMS_ACCOUNT_SID is required"},
		{"SELLERGUARD_SMS_ACCOUNT_SID", "AC/../x", "letters and digits"},
		{"SELLERGUARD_SMS_AUTH_TOKEN", "", "SELLERGUARD_SMS_AUTH_TOKEN is required"},
		{"SELLERGUARD_SMS_FROM", "", "SELLERGUARD_SMS_FROM is required"},
		{"SELLERGUARD_SMS_FROM", "+44 7400 123456", "SELLERGUARD_SMS_FROM"},
		{"SELLERGUARD_SMS_FROM", "SellerGuardLtd", "SELLERGUARD_SMS_FROM"},
		{"SELLERGUARD_SMS_FROM", "12345", "SELLERGUARD_SMS_FROM"},
		{"SELLERGUARD_SMS_TIMEOUT", "0s", "SELLERGUARD_SMS_TIMEOUT"},
		{"SELLERGUARD_SMS_TIMEOUT", "10m", "SELLERGUARD_SMS_TIMEOUT"},
	} {
		env := map[string]string{}
		for k, v := range good {
			env[k] = v
		}
		env[tc.env] = tc.value
		_, _, err := loadConfig(t, env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: err = %v, want it to mention %q", tc.env, tc.value, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), testToken) {
			t.Errorf("%s=%q: error %q shows the token", tc.env, tc.value, err)
		}
	}

	// Only the URL: each missing setting is named.
	_, _, err := loadConfig(t, map[string]string{"SELLERGUARD_SMS_URL": "https://api.twilio.com"})
	for _, name := range []string{"SELLERGUARD_SMS_ACCOUNT_SID", "SELLERGUARD_SMS_AUTH_TOKEN", "SELLERGUARD_SMS_FROM"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("err = %v, want it to name %s", err, name)
		}
	}
}

func TestHelpNeverShowsTheSMSToken(t *testing.T) {
	_, fs, err := loadConfig(t, map[string]string{"SELLERGUARD_SMS_AUTH_TOKEN": testToken})
	if err != nil {
		t.Fatal(err)
	}
	var help bytes.Buffer
	fs.SetOutput(&help)
	fs.PrintDefaults()
	if !strings.Contains(help.String(), "-sms-auth-token") || strings.Contains(help.String(), testToken) {
		t.Fatalf("help text:\n%s", help.String())
	}
}

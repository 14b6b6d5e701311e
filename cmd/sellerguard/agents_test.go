package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/testenv"
)

// `sellerguard agents add` creates an agent and prints its single-use
// enrolment code; with it the agent enrols (a password, an authenticator
// secret) and signs in with an oathtool code.
func TestAgentsAdd(t *testing.T) {
	dataDir := t.TempDir()
	dbURL := "sqlite://" + dataDir + "/sg.db"
	env := map[string]string{"SELLERGUARD_DATA_DIR": dataDir, "SELLERGUARD_DATABASE_URL": dbURL}
	if code, _, _ := runCLI(t, env, "agents", "add", "--email", "lead@example.com", "--role", "admin"); code != 2 {
		t.Fatalf("bad role: %d", code)
	}
	if code, _, _ := runCLI(t, env, "agents", "list"); code != 2 {
		t.Fatalf("unknown subcommand: %d", code)
	}
	code, out, errOut := runCLI(t, env, "agents", "add", "--email", "lead@example.com", "--role", "supervisor")
	enrol := regexp.MustCompile(`enrolment code \(shown once, valid 72h0m0s\): ([0-9A-Z-]{19})`).FindStringSubmatch(out)
	if code != 0 || enrol == nil || !strings.Contains(out, "/agent/enrol") {
		t.Fatalf("agents add: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, env, "agents", "add", "--email", "Lead@Example.com", "--role", "agent"); code != 1 || !strings.Contains(errOut, "already") {
		t.Fatalf("duplicate: %d %q", code, errOut)
	}
	in := apptest.Start(t, "", apptest.Env("SELLERGUARD_DATABASE_URL", dbURL), apptest.Env("SELLERGUARD_DATA_DIR", dataDir))
	const pw = "a supervisor's long passphrase"
	r := in.Do(t, "POST", "/api/v1/agent/enrol", "", map[string]string{"email": "lead@example.com", "enrolment_code": enrol[1], "password": pw})
	if r.Status != 200 {
		t.Fatalf("enrol: %d %s", r.Status, r.Body)
	}
	secret := r.JSON(t)["totp_secret"].(string)
	bin := testenv.RequireCommand(t, "oathtool")
	totp, err := exec.Command(bin, "--totp", "-b", "--now", in.Clock.Now().UTC().Format("2006-01-02 15:04:05 UTC"), secret).Output()
	if err != nil {
		t.Fatal(err)
	}
	r = in.Do(t, "POST", "/api/v1/agent/sessions", "", map[string]string{"email": "lead@example.com", "password": pw, "code": strings.TrimSpace(string(totp))})
	if r.Status != 201 || r.JSON(t)["agent"].(map[string]any)["role"] != "supervisor" {
		t.Fatalf("sign in: %d %s", r.Status, r.Body)
	}
	// The code is single use.
	if r := in.Do(t, "POST", "/api/v1/agent/enrol", "", map[string]string{"email": "lead@example.com", "enrolment_code": enrol[1], "password": pw}); r.Status != 400 {
		t.Fatalf("enrolment code reused: %d %s", r.Status, r.Body)
	}
}

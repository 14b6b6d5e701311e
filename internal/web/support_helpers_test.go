package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/sellerguard/sellerguard/internal/app/apptest"
	"github.com/sellerguard/sellerguard/internal/support"
)

type supportAgent = support.Agent

// testAgent is an enrolled Seller Support agent with its authenticator
// secret.
type testAgent struct {
	id, email, secret string
}

// addAgent creates an agent as the command line does, enrols it through
// the API (a password and an authenticator secret) and returns it.
func addAgent(t *testing.T, in *apptest.Instance, email, role string) testAgent {
	t.Helper()
	a, code, err := in.Support.AddAgent(context.Background(), nil, email, role)
	if err != nil {
		t.Fatalf("add agent: %v", err)
	}
	r := in.Do(t, "POST", "/api/v1/agent/enrol", "", map[string]string{"email": email, "enrolment_code": code, "password": agentPW})
	if r.Status != 200 {
		t.Fatalf("enrol: %d %s", r.Status, r.Body)
	}
	return testAgent{id: a.ID, email: email, secret: r.JSON(t)["totp_secret"].(string)}
}

const agentPW = "an agent passphrase long enough"

// agentToken signs the agent in with its password and an oathtool code
// (a fresh time step each time: a code is good once).
func agentToken(t *testing.T, in *apptest.Instance, a testAgent) string {
	t.Helper()
	in.Clock.Advance(31 * time.Second)
	r := in.Do(t, "POST", "/api/v1/agent/sessions", "", map[string]string{"email": a.email, "password": agentPW, "code": oathtool(t, a.secret, in.Clock.Now())})
	if r.Status != 201 {
		t.Fatalf("agent sign-in: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["token"].(string)
}

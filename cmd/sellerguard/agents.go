package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/sellerguard/sellerguard"
	"github.com/sellerguard/sellerguard/internal/app"
	"github.com/sellerguard/sellerguard/internal/config"
	"github.com/sellerguard/sellerguard/internal/support"
)

// cmdAgents bootstraps Seller Support agents: `agents add --email E --role
// agent|supervisor` creates an agent and prints its single-use enrolment
// code (the agent enrols at /agent/enrol). Afterwards supervisors manage
// agents in the console.
func cmdAgents(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	const usageLine = "usage: sellerguard agents add --email E --role agent|supervisor"
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprintln(stderr, usageLine)
		return 2
	}
	fs := flag.NewFlagSet("sellerguard agents add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, _, envErr := config.Register(fs, getenv)
	email := fs.String("email", "", "the agent's email address")
	role := fs.String("role", "", "agent or supervisor")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *email == "" || (*role != support.RoleAgent && *role != support.RoleSupervisor) || fs.NArg() > 0 {
		fmt.Fprintln(stderr, usageLine)
		return 2
	}
	if err := finishConfig(cfg, envErr); err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
	a, err := app.New(ctx, cfg, app.NewLogger(cfg, stderr), versionString())
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard:", err)
		return 1
	}
	defer func() { _ = a.Close() }()
	agent, code, err := a.Support.AddAgent(ctx, nil, *email, *role)
	if err != nil {
		fmt.Fprintln(stderr, "sellerguard:", sellerguard.ErrorMessage(err))
		return 1
	}
	fmt.Fprintf(stdout, "agent %s (%s, %s) added.\n", agent.ID, agent.Email, agent.Role)
	fmt.Fprintf(stdout, "enrolment code (shown once, valid %s): %s\n", support.EnrolCodeTTL, code)
	fmt.Fprintf(stdout, "Give it to the agent in person; they enrol at %s/agent/enrol (password and authenticator app).\n", cfg.BaseURL)
	return 0
}

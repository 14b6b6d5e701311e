package web

import "github.com/sellerguard/sellerguard/internal/checkup"

// firstRunChecklist is the account page's "get started" card (issue 18,
// item 8): the first things a new seller does, each linking to its page and
// ticked from the account's real state, read off the security checkup's
// items (internal/checkup), so the card and the checkup never disagree.
// The card shows until every step is done.
type firstRunChecklist struct {
	Steps []checklistStep
	Done  int
}

// checklistStep is one step: its message key, its page, and whether the
// account's state has it done.
type checklistStep struct {
	ID   string
	Key  string
	Href string
	Done bool
}

// Show reports whether the card is shown: while a step is left.
func (c firstRunChecklist) Show() bool { return c.Done < len(c.Steps) }

// checklistSteps are the steps in order, each with the checkup item whose
// "ok" ticks it.
var checklistSteps = []checklistStep{
	{ID: "two_step", Key: "checklist.two_step", Href: "/account/two-step"},
	{ID: "backup_method", Key: "checklist.backup", Href: "/account/two-step#backup-left"},
	{ID: "anti_phishing_phrase", Key: "checklist.phrase", Href: "/account/phrase"},
	{ID: "mobile", Key: "checklist.mobile", Href: "/account/phone"},
	{ID: "notifications", Key: "checklist.notifications", Href: "/account/notifications"},
}

// newFirstRunChecklist ticks the steps from the checkup report.
func newFirstRunChecklist(rep checkup.Report) firstRunChecklist {
	ok := map[string]bool{}
	for _, it := range rep.Items {
		ok[it.ID] = it.Status == checkup.OK
	}
	c := firstRunChecklist{Steps: make([]checklistStep, len(checklistSteps))}
	for i, st := range checklistSteps {
		st.Done = ok[st.ID]
		if st.Done {
			c.Done++
		}
		c.Steps[i] = st
	}
	return c
}

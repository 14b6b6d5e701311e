package web

import (
	"net/http"

	"github.com/sellerguard/sellerguard/internal/i18n"
)

// apiMessageTexts finds the success messages of API answers (their
// "message" field, written in English in the handlers) in the message
// files: the pages' notices say the same, and the api.message.* keys say
// the rest.
var apiMessageTexts = i18n.Default().Known("signup.sent", "unlock.requested", "email_page.notice.sent", "email_page.notice.changed",
	"revert.notice.done", "forgot.code_sent", "forgot.done", "support.new.received", "support.case.not_me_done", "api.message.")

// answerIn returns an answer with its "message" in the caller's language,
// as problems are translated at the edge: the other fields (codes, status
// words) stay as they are. A one-answer-for-all map (sign-up, recovery) is
// copied, never changed, so it stays the same for every caller of a
// language.
func answerIn[V any](r *http.Request, answer map[string]V) map[string]any {
	out := make(map[string]any, len(answer))
	for k, v := range answer {
		out[k] = v
	}
	if msg, ok := out["message"].(string); ok {
		out["message"] = apiMessageTexts.In(langOf(r), msg)
	}
	return out
}

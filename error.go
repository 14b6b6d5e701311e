package sellerguard

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. They are part of the API contract: clients match on them, so a
// code is never renamed. The mapping to HTTP status lives in internal/web.
const (
	ECodeInvalidInput           = "invalid_input"
	ECodeMalformedJSON          = "malformed_json"
	ECodeUnsupportedMedia       = "unsupported_media_type"
	ECodeTooLarge               = "payload_too_large"
	ECodeInvalidCredentials     = "invalid_credentials"
	ECodeUnauthenticated        = "unauthenticated"
	ECodeForbidden              = "forbidden"
	ECodeNotFound               = "not_found"
	ECodeMethodNotAllowed       = "method_not_allowed"
	ECodeConflict               = "conflict"
	ECodeInvalidCode            = "invalid_code"
	ECodePasswordPolicy         = "password_policy"
	ECodeReauthRequired         = "reauth_required"
	ECodeSecondStepRequired     = "second_step_required"
	ECodeEnrollmentRequired     = "two_step_enrollment_required"
	ECodePasswordChangeRequired = "password_change_required"
	ECodeBackupMethodRequired   = "backup_method_required"
	ECodeRateLimited            = "rate_limited"
	ECodeBusy                   = "busy"
	ECodeInternal               = "internal"
)

// FieldError names one problem with one input field.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is the one error type that crosses package boundaries towards users.
// Message is safe to show; Err is the cause, for logs only.
type Error struct {
	Code       string
	Message    string
	Fields     []FieldError
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted, user-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, ECodeInternal for errors that are not an
// *Error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ECodeInternal
}

// ErrorMessage returns the user-safe message of err; internal errors get a
// generic text so that no detail leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Something went wrong on our side. Please try again."
}

// Invalid returns an invalid_input error listing field problems.
func Invalid(fields ...FieldError) *Error {
	msg := "Some fields are not valid."
	if len(fields) == 1 {
		msg = fields[0].Message
	}
	return &Error{Code: ECodeInvalidInput, Message: msg, Fields: fields}
}

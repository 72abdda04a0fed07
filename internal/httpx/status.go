package httpx

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
)

// codeStatus is the one table from error code to HTTP status, shared by
// the JSON API and the pages. The codes are the root package's vocabulary;
// which status each one is belongs to HTTP.
var codeStatus = map[string]int{
	gatehouse.EInvalidRequest:       http.StatusBadRequest,
	gatehouse.EInvalidEmail:         http.StatusBadRequest,
	gatehouse.ERequestTooLarge:      http.StatusRequestEntityTooLarge,
	gatehouse.EUnsupportedMediaType: http.StatusUnsupportedMediaType,
	gatehouse.EMethodNotAllowed:     http.StatusMethodNotAllowed,
	gatehouse.ENotFound:             http.StatusNotFound,
	gatehouse.EForbidden:            http.StatusForbidden,
	gatehouse.EUnauthenticated:      http.StatusUnauthorized,
	gatehouse.EInternal:             http.StatusInternalServerError,
	gatehouse.EUnavailable:          http.StatusServiceUnavailable,

	gatehouse.EInvalidCredentials:       http.StatusUnauthorized,
	gatehouse.EInvalidCode:              http.StatusUnauthorized,
	gatehouse.EInvalidChallenge:         http.StatusUnauthorized,
	gatehouse.EAccountDisabled:          http.StatusForbidden,
	gatehouse.ETooManyAttempts:          http.StatusTooManyRequests,
	gatehouse.EPasswordsDoNotMatch:      http.StatusBadRequest,
	gatehouse.ECurrentPasswordIncorrect: http.StatusBadRequest,
	gatehouse.EPasswordTooWeak:          http.StatusUnprocessableEntity,
	gatehouse.EPasswordTooLong:          http.StatusUnprocessableEntity,
	gatehouse.EPasswordReused:           http.StatusUnprocessableEntity,
	gatehouse.EInvalidToken:             http.StatusBadRequest,
	gatehouse.ETOTPAlreadyEnabled:       http.StatusConflict,
	gatehouse.ETOTPNotEnabled:           http.StatusConflict,
	gatehouse.EReauthenticationRequired: http.StatusForbidden,
	gatehouse.ETOTPRequiredByCompany:    http.StatusConflict,
	gatehouse.ETOTPEnrollmentRequired:   http.StatusConflict,
	gatehouse.EEmailTaken:               http.StatusConflict,
	gatehouse.ELastAdmin:                http.StatusConflict,
	gatehouse.ESetupDone:                http.StatusConflict,
	gatehouse.EOwnTOTPRequired:          http.StatusConflict,
	gatehouse.EWebhookURLInvalid:        http.StatusBadRequest,
	gatehouse.EWebhookAddressNotAllowed: http.StatusBadRequest,
	gatehouse.EWebhookDisabled:          http.StatusConflict,
	gatehouse.EInvalidPasskey:           http.StatusUnauthorized,
	gatehouse.EPasskeyExists:            http.StatusConflict,
	gatehouse.EInvalidRedirectURI:       http.StatusBadRequest,
	gatehouse.EInvalidForwardAuthHost:   http.StatusBadRequest,
	gatehouse.EForwardAuthHostTaken:     http.StatusConflict,
	gatehouse.EFirstPartyOperatorOnly:   http.StatusBadRequest,
}

// Status returns the HTTP status of an error code; unknown codes are 500.
func Status(code string) int {
	if s, ok := codeStatus[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Codes returns every error code, for documentation and tests
// (TestEveryCodeHasStatus holds the table to the root package's list).
func Codes() []string {
	codes := make([]string, 0, len(codeStatus))
	for c := range codeStatus {
		codes = append(codes, c)
	}
	return codes
}

package auth

// AuditOutsideCommitError is what audit answers for an event of type typ
// written on a transaction that is not commit's.
func AuditOutsideCommitError(typ string) error { return checkAuditedInCommit(nil, typ) }

// LoginChallengeAAD is what a passkey sign-in's sealed challenge is bound
// to, for the tests that seal one themselves.
var LoginChallengeAAD = loginChallengeAAD

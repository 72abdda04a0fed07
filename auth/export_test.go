package auth

// AuditOutsideCommitError is what audit answers for an event of type typ
// written on a transaction that is not commit's.
func AuditOutsideCommitError(typ string) error { return checkAuditedInCommit(nil, typ) }

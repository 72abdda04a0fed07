package auth

import "github.com/gatehouse/gatehouse"

// mailProblems says, for each of users, why the latest mail with a link
// to them (an invitation, a password reset) was not delivered, when it
// was not: the mail server refused the address, delivery kept failing,
// or the queue was held so long that the link expired first. Admins see
// it beside the user, so that a typo in an address, or a user the mail
// never reached, is found by the people who can fix it rather than only
// in the operator's log. A newer link supersedes a failed one.
func mailProblems(tx gatehouse.Tx, companyID string, users ...*gatehouse.User) (map[string]*gatehouse.MailProblem, error) {
	if len(users) == 0 {
		return map[string]*gatehouse.MailProblem{}, nil
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return tx.MailProblems(companyID, ids)
}

package auth

import "github.com/gatehouse/gatehouse"

// Actor is who performs a company administrator's action: a signed-in
// admin, or a company API key acting as one. Every admin method resolves
// the caller's Identity to an Actor inside its transaction (freshAdmin),
// and from then on decides, audits and mails through the Actor alone, so
// a rule or an audit row cannot tell the two apart where it should not,
// and tells them apart where it must (the audit row names the key).
type Actor struct {
	// ID is the user's or the key's ID: the actor of the audit events.
	ID        string
	CompanyID string
	// Name is who did it, as mail and pages say: the admin's name, or the
	// key's.
	Name string
	// User is the admin; nil for a key.
	User *gatehouse.User
	// Key is the API key; nil for a user.
	Key *gatehouse.APIKey
}

func userActor(u *gatehouse.User) *Actor {
	return &Actor{ID: u.ID, CompanyID: u.CompanyID, Name: u.Name, User: u}
}

func keyActor(k *gatehouse.APIKey) *Actor {
	return &Actor{ID: k.ID, CompanyID: k.CompanyID, Name: k.Name, Key: k}
}

// IsUser reports whether the actor is the user with this ID.
func (a *Actor) IsUser(userID string) bool { return a.User != nil && a.User.ID == userID }

// actorType is the audit events' ActorType of a.
func (a *Actor) actorType() string {
	if a.Key != nil {
		return gatehouse.ActorAPIKey
	}
	return gatehouse.ActorUser
}

// actorEvent builds an audit event of a's company about target, by a.
func actorEvent(typ string, a *Actor, targetID string, c Client) gatehouse.AuditEvent {
	e := event(typ, a.CompanyID, a.ID, targetID, c)
	e.ActorType = a.actorType()
	return e
}

// CompanyID is the company the caller acts in: the user's, or the key's
// ("" for an operator key).
func (id *Identity) CompanyID() string {
	switch {
	case id == nil:
		return ""
	case id.Key != nil:
		return id.Key.CompanyID
	case id.User != nil:
		return id.User.CompanyID
	}
	return ""
}

package gatehouse

import "time"

// Passkey is a WebAuthn credential a user registered: a key pair whose
// private half never leaves the user's authenticator (a phone, a laptop's
// secure enclave, a security key), bound to the relying party id (the host
// of --public-url). Signing in with one that verified the user (a
// fingerprint, a face, a PIN) is two factors at once.
type Passkey struct {
	ID        string
	CompanyID string
	UserID    string
	// CredentialID is the authenticator's id of the credential, unique
	// across every user: a discoverable login finds the passkey by it.
	CredentialID []byte
	// UserHandle is the opaque, random user id the authenticator keeps
	// with the credential and returns at a discoverable login; every
	// passkey of a user has the same.
	UserHandle []byte
	// PublicKey is the credential's public key, COSE-encoded as the
	// authenticator gave it.
	PublicKey []byte
	// SignCount is the authenticator's signature counter at the last use;
	// an assertion whose counter does not go past it (when either is not
	// zero) is refused as a cloned authenticator.
	SignCount uint32
	// BackupEligible (BE) never changes for a credential; BackupState (BS)
	// says whether it is backed up or synced now.
	BackupEligible bool
	BackupState    bool
	// Transports are the ways the browser may reach the authenticator
	// ("internal", "usb", "hybrid", ...), as the browser reported them.
	Transports        []string
	AAGUID            []byte // the authenticator model, 16 bytes; zero when not told
	AttestationFormat string // "none" for almost every passkey
	Name              string // the user's name for it, editable
	CreatedAt         time.Time
	LastUsedAt        time.Time // zero until first used to sign in
}

// PasskeyNameMax is the longest name a passkey may have, in characters.
const PasskeyNameMax = 64

// Kinds of passkey ceremony.
const (
	CeremonyRegistration = "registration"  // a signed-in user adds a passkey
	CeremonyLogin        = "login"         // a discoverable sign-in: no user known yet
	CeremonySecondFactor = "second_factor" // after a password, instead of a code
	CeremonyReauth       = "reauth"        // a signed-in user proves presence for a sensitive change
)

// ReasonPasskeyNotRegistered is the Reason of an EInvalidPasskey refusal
// of a passkey the server does not know: removed here while the device
// still offers it.
const ReasonPasskeyNotRegistered = "passkey_not_registered"

// PasskeyCeremony is a WebAuthn ceremony in progress: the server's half of
// what the browser is asked to sign. It is kept in the database, so that
// any node may finish what another began, lives a few minutes and is
// consumed by the transaction that checks the answer, so that an answer
// is accepted once. A discoverable sign-in keeps nothing while it waits
// (its challenge is sealed server state): its row is written when it is
// answered, to record the challenge as used (UseLoginChallenge).
type PasskeyCeremony struct {
	ID string
	// ChallengeHash is the SHA-256 of the challenge sent to the browser:
	// the answer's client data names the challenge, which finds the row.
	ChallengeHash []byte
	Kind          string // CeremonyRegistration, CeremonyLogin, CeremonySecondFactor or CeremonyReauth
	UserID        string // the user, except for a discoverable login
	// SessionID is the session that began a registration, which alone may
	// finish it.
	SessionID string
	// LoginChallengeID is the login challenge (after the password) that a
	// second-factor ceremony belongs to.
	LoginChallengeID string
	// Data is the WebAuthn library's session data, as JSON, without the
	// challenge itself.
	Data      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// PasskeyTx is the part of Tx that keeps passkeys and their ceremonies.
// Every method on a user's passkeys takes the company, so that no query
// reaches another tenant's rows.
type PasskeyTx interface {
	// CreatePasskey returns EPasskeyExists when the credential id is
	// registered already.
	CreatePasskey(p *Passkey) error
	// Passkeys lists a user's passkeys, oldest first.
	Passkeys(companyID, userID string) ([]*Passkey, error)
	// PasskeyByCredentialID finds a passkey of any company by the
	// authenticator's credential id (ENotFound when none).
	PasskeyByCredentialID(credentialID []byte) (*Passkey, error)
	// PasskeyUsed records a sign-in with the passkey: its new counter,
	// backup state and the time, if its counter is still oldCount; false
	// when another sign-in moved it first (read it again), ENotFound when
	// the passkey is gone.
	PasskeyUsed(companyID, id string, oldCount, signCount uint32, backupState bool, at time.Time) (bool, error)
	// RenamePasskey reports false when the user has no such passkey.
	RenamePasskey(companyID, userID, id, name string) (bool, error)
	// DeletePasskey returns the passkey deleted (ENotFound when the user
	// has no such passkey).
	DeletePasskey(companyID, userID, id string) (*Passkey, error)
	// DeletePasskeys removes every passkey of the user and returns how
	// many went.
	DeletePasskeys(companyID, userID string) (int, error)

	CreatePasskeyCeremony(c *PasskeyCeremony) error
	// ConsumePasskeyCeremony deletes the live ceremony of the challenge and
	// returns it; of racing calls exactly one gets it, the others (and any
	// call after it expired) get ENotFound.
	ConsumePasskeyCeremony(challengeHash []byte) (*PasskeyCeremony, error)
	// UseLoginChallenge records the challenge of a discoverable sign-in
	// (CeremonyLogin) as used until expiresAt, as a ceremony row of that
	// kind with no data: true the first time, false when it was recorded
	// already (a replay). Of racing calls exactly one gets true, on every
	// database; the row is deleted with the expired ceremonies.
	UseLoginChallenge(challengeHash []byte, expiresAt time.Time) (bool, error)
}

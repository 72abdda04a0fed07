package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/seal"
)

// PasskeyCeremonyLifetime is how long a passkey ceremony waits for the
// browser's answer: time to find the phone or the security key, and to
// touch it.
const PasskeyCeremonyLifetime = 5 * time.Minute

// Why an answer was refused, as passkey.failed's Detail says it.
const (
	passkeyReasonMalformed   = "malformed"          // not a WebAuthn answer
	passkeyReasonCeremony    = "unknown_ceremony"   // no live ceremony: replayed, expired or never begun
	passkeyReasonMismatch    = "wrong_ceremony"     // a ceremony of another kind, session, user or login
	passkeyReasonUnknown     = "unknown_credential" // no such passkey, or another user's
	passkeyReasonOrigin      = "origin"             // the browser was on another site
	passkeyReasonRPID        = "rp_id"              // signed for another relying party
	passkeyReasonUV          = "user_verification"  // the authenticator did not verify the user
	passkeyReasonSignCount   = "sign_count"         // the counter went back: a cloned authenticator
	passkeyReasonInvalid     = "invalid"            // the signature or another check of the library failed
	passkeyReasonDisabled    = "account_disabled"
	passkeyReasonNoPasskey   = "no_passkey"
	defaultPasskeyNamePrefix = "Passkey"
)

func errInvalidPasskey() error {
	return gatehouse.Errorf(gatehouse.EInvalidPasskey, "That passkey could not be used. Please try again.")
}

// errPasskeyNotRegistered is the refusal of a passkey the server does not
// know (removed, while the device still offers it): the same code, with a
// reason that tells the person what to do.
func errPasskeyNotRegistered() error {
	e := gatehouse.AsError(errInvalidPasskey())
	e.Reasons = []gatehouse.Reason{{Code: gatehouse.ReasonPasskeyNotRegistered,
		Message: "This passkey is no longer registered here (it was removed). Sign in another way, then add it again."}}
	return e
}

// relyingParty is the WebAuthn relying party of the public URL: its id is
// the URL's host, and the only origin accepted is the URL's own.
func newRelyingParty(publicURL, product string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("passkeys need an absolute http(s) public URL, not %q", publicURL)
	}
	return webauthn.New(&webauthn.Config{
		RPID:          u.Hostname(),
		RPDisplayName: product,
		RPOrigins:     []string{u.Scheme + "://" + u.Host},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: PasskeyCeremonyLifetime, TimeoutUVD: PasskeyCeremonyLifetime},
			Registration: webauthn.TimeoutConfig{Timeout: PasskeyCeremonyLifetime, TimeoutUVD: PasskeyCeremonyLifetime},
		},
	})
}

// relyingParty returns the service's WebAuthn relying party. A public URL
// whose host is an IP address has none (WebAuthn takes domain names only):
// passkeys then answer EForbidden, and the rest of the service works.
func (s *Service) relyingParty() (*webauthn.WebAuthn, error) {
	s.rpOnce.Do(func() {
		s.rp, s.rpErr = newRelyingParty(s.cfg.PublicURL, s.cfg.Product)
		if s.rpErr != nil {
			s.rpErr = fmt.Errorf("%w: %w", &gatehouse.Error{Code: gatehouse.EForbidden,
				Message: "Passkeys are not available on this server: its public URL must name a host, not an IP address."}, s.rpErr)
		}
	})
	return s.rp, s.rpErr
}

// PasskeysAvailable reports why passkeys cannot work with this public URL
// (nil when they can), for a warning at start.
func (s *Service) PasskeysAvailable() error {
	_, err := s.relyingParty()
	return err
}

// RelyingPartyID is the passkeys' relying party id: the public URL's host.
func (s *Service) RelyingPartyID() string {
	rp, err := s.relyingParty()
	if err != nil {
		return ""
	}
	return rp.Config.RPID
}

// passkeyUser is a user as the WebAuthn library sees them.
type passkeyUser struct {
	u      *gatehouse.User
	handle []byte
	keys   []*gatehouse.Passkey
}

func (p *passkeyUser) WebAuthnID() []byte          { return p.handle }
func (p *passkeyUser) WebAuthnName() string        { return p.u.Email }
func (p *passkeyUser) WebAuthnDisplayName() string { return p.u.Name }
func (p *passkeyUser) WebAuthnCredentials() []webauthn.Credential {
	creds := make([]webauthn.Credential, len(p.keys))
	for i, k := range p.keys {
		creds[i] = credential(k)
	}
	return creds
}

// credential is the library's record of a passkey.
func credential(k *gatehouse.Passkey) webauthn.Credential {
	ts := make([]protocol.AuthenticatorTransport, len(k.Transports))
	for i, t := range k.Transports {
		ts[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID: k.CredentialID, PublicKey: k.PublicKey, AttestationFormat: k.AttestationFormat, Transport: ts,
		Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: true, BackupEligible: k.BackupEligible, BackupState: k.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: k.AAGUID, SignCount: k.SignCount},
	}
}

// loadPasskeyUser reads the user's passkeys. A user without any gets a new
// random user handle, which their first passkey keeps.
func loadPasskeyUser(tx gatehouse.Tx, u *gatehouse.User) (*passkeyUser, error) {
	keys, err := tx.Passkeys(u.CompanyID, u.ID)
	if err != nil {
		return nil, err
	}
	p := &passkeyUser{u: u, keys: keys}
	if len(keys) > 0 {
		p.handle = keys[0].UserHandle
	} else {
		p.handle = make([]byte, 32)
		rand.Read(p.handle)
	}
	return p, nil
}

// PasskeyOptions is what the browser passes to navigator.credentials:
// {"publicKey": {...}} and, for a conditional sign-in, "mediation", as
// JSON.
type PasskeyOptions = json.RawMessage

// saveCeremony keeps the library's session data as a ceremony of kind, and
// returns the options for the browser. The challenge itself is not kept:
// its hash finds the ceremony, and the answer names it.
func saveCeremony(tx gatehouse.Tx, kind string, options any, sd *webauthn.SessionData, fill func(*gatehouse.PasskeyCeremony)) (PasskeyOptions, error) {
	challenge := sd.Challenge
	data := *sd
	data.Challenge = ""
	blob, err := json.Marshal(&data)
	if err != nil {
		return nil, err
	}
	c := &gatehouse.PasskeyCeremony{
		ID: gatehouse.NewID(tx.Now()), ChallengeHash: challengeHash(challenge), Kind: kind, Data: blob,
		CreatedAt: tx.Now(), ExpiresAt: tx.Now().Add(PasskeyCeremonyLifetime),
	}
	if fill != nil {
		fill(c)
	}
	if err := tx.CreatePasskeyCeremony(c); err != nil {
		return nil, err
	}
	return json.Marshal(options)
}

func challengeHash(challenge string) []byte {
	h := sha256.Sum256([]byte("gatehouse-passkey-challenge:" + challenge))
	return h[:]
}

// takeCeremony consumes the live ceremony that the answer's client data
// names and restores the library's session data. It returns a refusal
// reason when there is none (a replayed answer, an expired ceremony) or it
// is not of the kind wanted.
func takeCeremony(tx gatehouse.Tx, kind, challenge string) (*gatehouse.PasskeyCeremony, *webauthn.SessionData, string, error) {
	if challenge == "" {
		return nil, nil, passkeyReasonMalformed, nil
	}
	c, err := tx.ConsumePasskeyCeremony(challengeHash(challenge))
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil, nil, passkeyReasonCeremony, nil
	}
	if err != nil {
		return nil, nil, "", err
	}
	if c.Kind != kind {
		return nil, nil, passkeyReasonMismatch, nil
	}
	sd, err := sessionData(c, challenge)
	return c, sd, "", err
}

// sessionData restores the library's session data of a ceremony.
func sessionData(c *gatehouse.PasskeyCeremony, challenge string) (*webauthn.SessionData, error) {
	var sd webauthn.SessionData
	if err := json.Unmarshal(c.Data, &sd); err != nil {
		return nil, fmt.Errorf("passkey ceremony %s: %w", c.ID, err)
	}
	// The database's expiry (by the store's clock) is the one that counts.
	sd.Challenge, sd.Expires = challenge, time.Time{}
	return &sd, nil
}

// refusalReason names, for the audit log, which of the library's checks
// refused an answer: it runs the library's own verification of the client
// data (the origin) and of the authenticator data (the relying party id,
// then user verification) one at a time; any other refusal (the
// signature, the flags) is "invalid".
func refusalReason(rp *webauthn.WebAuthn, ceremony protocol.CeremonyType, challenge string, cd protocol.CollectedClientData, ad protocol.AuthenticatorData) string {
	cfg := rp.Config
	if cd.Verify(challenge, ceremony, cfg.RPOrigins, cfg.RPOpaqueOrigins, cfg.RPTopOrigins, cfg.RPTopOriginVerificationMode, cfg.RPAllowCrossOrigin) != nil {
		return passkeyReasonOrigin
	}
	rpIDHash := sha256.Sum256([]byte(cfg.RPID))
	if ad.Verify(rpIDHash[:], nil, false, true) != nil {
		return passkeyReasonRPID
	}
	if ad.Verify(rpIDHash[:], nil, true, true) != nil {
		return passkeyReasonUV
	}
	return passkeyReasonInvalid
}

// passkeyFailed audits a refused answer and makes the caller answer
// EInvalidPasskey once the transaction commits: the consumed ceremony and
// the audit event are kept. The client's address is counted as for a
// wrong code.
func (s *Service) passkeyFailed(tx gatehouse.Tx, o *outcome, u *gatehouse.User, reason string, c Client) error {
	o.err = errInvalidPasskey()
	if reason == passkeyReasonUnknown {
		o.err = errPasskeyNotRegistered()
	}
	if err := addressLimit.record(tx, failureKey(c.IP)); err != nil {
		return err
	}
	e := event(gatehouse.EventPasskeyFailed, "", "", "", c)
	e.Detail = "reason=" + reason
	if u != nil {
		e.CompanyID, e.TargetID = u.CompanyID, u.ID
	}
	return s.audit(tx, e)
}

// passkeyOwner finds the passkey an answer names and its user; both nil
// when the credential is unknown.
func passkeyOwner(tx gatehouse.Tx, credentialID []byte) (*gatehouse.Passkey, *gatehouse.User, error) {
	if len(credentialID) == 0 {
		return nil, nil, nil
	}
	k, err := tx.PasskeyByCredentialID(credentialID)
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	u, err := tx.User(k.UserID)
	if err != nil {
		return nil, nil, err
	}
	return k, u, nil
}

// verifyAssertion checks a parsed assertion against a ceremony's session
// data and the passkey it names, which must be the user's, and records
// its use. It returns a refusal reason, or the passkey used.
func (s *Service) verifyAssertion(tx gatehouse.Tx, rp *webauthn.WebAuthn, pu *passkeyUser, sd *webauthn.SessionData,
	parsed *protocol.ParsedCredentialAssertionData, discoverable bool) (*gatehouse.Passkey, string, error) {
	key, cred, reason := s.checkAssertion(rp, pu, sd, parsed, discoverable)
	if reason != "" {
		return nil, reason, nil
	}
	if reason, err := usePasskey(tx, key, parsed.Response.AuthenticatorData.Counter, cred.Flags.BackupState); err != nil || reason != "" {
		return nil, reason, err
	}
	return key, "", nil
}

// usePasskey records a sign-in with key, read in the transaction, whose
// answer carries the authenticator's counter count: the counter goes
// forward from the value stored, by the library's rule (a counter that
// does not is a clone's: refused with a reason). The update is a
// compare-and-set: when another sign-in moved the counter after it was
// read, it is read again and checked against that.
func usePasskey(tx gatehouse.Tx, key *gatehouse.Passkey, count uint32, backupState bool) (string, error) {
	for {
		a := webauthn.Authenticator{SignCount: key.SignCount}
		a.UpdateCounter(count)
		if a.CloneWarning {
			return passkeyReasonSignCount, nil
		}
		ok, err := tx.PasskeyUsed(key.CompanyID, key.ID, key.SignCount, a.SignCount, backupState, tx.Now())
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			return passkeyReasonUnknown, nil
		}
		if err != nil || ok {
			return "", err
		}
		if key, err = tx.PasskeyByCredentialID(key.CredentialID); gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			return passkeyReasonUnknown, nil
		} else if err != nil {
			return "", err
		}
	}
}

// checkAssertion is the library's verification of a parsed assertion
// against a ceremony's session data and the passkey it names, which must
// be the user's: the origin, the relying party, user verification, the
// signature and the counter. It changes nothing, and returns the passkey
// and the library's updated record of it, or a refusal reason.
func (s *Service) checkAssertion(rp *webauthn.WebAuthn, pu *passkeyUser, sd *webauthn.SessionData,
	parsed *protocol.ParsedCredentialAssertionData, discoverable bool) (*gatehouse.Passkey, *webauthn.Credential, string) {
	var key *gatehouse.Passkey
	for _, k := range pu.keys {
		if bytes.Equal(k.CredentialID, parsed.RawID) {
			key = k
		}
	}
	if key == nil {
		return nil, nil, passkeyReasonUnknown
	}
	var cred *webauthn.Credential
	var err error
	if discoverable {
		_, cred, err = rp.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
			if !bytes.Equal(userHandle, pu.handle) {
				return nil, errors.New("the user handle is not the passkey's")
			}
			return pu, nil
		}, *sd, parsed)
	} else {
		cred, err = rp.ValidateLogin(pu, *sd, parsed)
	}
	if err != nil {
		s.log.Info("passkey assertion refused", "user", pu.u.ID, "err", describeWebAuthnError(err))
		return nil, nil, refusalReason(rp, protocol.AssertCeremony, sd.Challenge, parsed.Response.CollectedClientData, parsed.Response.AuthenticatorData)
	}
	if cred.Authenticator.CloneWarning {
		return nil, nil, passkeyReasonSignCount
	}
	return key, cred, ""
}

// describeWebAuthnError says what the library refused, for the log.
func describeWebAuthnError(err error) string {
	var perr *protocol.Error
	if errors.As(err, &perr) {
		return perr.Type + ": " + perr.Details + " " + perr.DevInfo
	}
	return err.Error()
}

// BeginPasskeyRegistration starts adding a passkey to the caller's
// account and returns the options for navigator.credentials.create. The
// passkey must be discoverable (a resident key) and verify the user. As for
// an authenticator app, the password is needed when the session's login is
// older than ReauthWindow (EReauthenticationRequired without it).
func (s *Service) BeginPasskeyRegistration(ctx context.Context, id *Identity, pw string, c Client) (PasskeyOptions, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return nil, err
	}
	if pw == "" {
		if needsReauth(id.Session, s.now(ctx)) {
			return nil, errReauthenticate()
		}
	} else if err := s.verifyCurrentPassword(ctx, id.User, pw); err != nil {
		return nil, err
	}
	var opts PasskeyOptions
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		u, err := s.freshUser(tx, id.User, pw != "")
		if err != nil {
			return err
		}
		pu, err := loadPasskeyUser(tx, u)
		if err != nil {
			return err
		}
		exclude := make([]protocol.CredentialDescriptor, len(pu.keys))
		for i, k := range pu.keys {
			cred := credential(k)
			exclude[i] = cred.Descriptor()
		}
		creation, sd, err := rp.BeginRegistration(pu,
			webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
				ResidentKey:      protocol.ResidentKeyRequirementRequired,
				UserVerification: protocol.VerificationRequired,
			}),
			webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
			webauthn.WithExclusions(exclude),
			webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
		if err != nil {
			return err
		}
		opts, err = saveCeremony(tx, gatehouse.CeremonyRegistration, creation, sd, func(pc *gatehouse.PasskeyCeremony) {
			pc.UserID, pc.SessionID = u.ID, id.Session.ID
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return opts, nil
}

// FinishPasskeyRegistration checks the browser's answer to
// BeginPasskeyRegistration (the PublicKeyCredential as JSON) and keeps the
// new passkey under name (a default name when empty). Only the session
// that began the ceremony may finish it, once. A refused answer
// (EInvalidPasskey) is audited with the reason.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, id *Identity, name string, answer []byte, c Client) (*gatehouse.Passkey, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return nil, err
	}
	name, err = passkeyName(name)
	if err != nil {
		return nil, err
	}
	parsed, perr := protocol.ParseCredentialCreationResponseBytes(answer)
	var key *gatehouse.Passkey
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		u, err := tx.User(id.User.ID)
		if err != nil {
			return err
		}
		if perr != nil {
			return s.passkeyFailed(tx, o, u, passkeyReasonMalformed, c)
		}
		cer, sd, reason, err := takeCeremony(tx, gatehouse.CeremonyRegistration, parsed.Response.CollectedClientData.Challenge)
		if err != nil {
			return err
		}
		if reason == "" && (cer.UserID != u.ID || cer.SessionID != id.Session.ID) {
			reason = passkeyReasonMismatch
		}
		if reason != "" {
			return s.passkeyFailed(tx, o, u, reason, c)
		}
		pu, err := loadPasskeyUser(tx, u)
		if err != nil {
			return err
		}
		// The handle the ceremony offered is the one the authenticator keeps.
		pu.handle = sd.UserID
		cred, err := rp.CreateCredential(pu, *sd, parsed)
		if err != nil {
			s.log.Info("passkey registration refused", "user", u.ID, "err", describeWebAuthnError(err))
			return s.passkeyFailed(tx, o, u, refusalReason(rp, protocol.CreateCeremony, sd.Challenge,
				parsed.Response.CollectedClientData, parsed.Response.AttestationObject.AuthData), c)
		}
		if name == "" {
			name = fmt.Sprintf("%s %d", defaultPasskeyNamePrefix, len(pu.keys)+1)
		}
		key = &gatehouse.Passkey{
			ID: gatehouse.NewID(tx.Now()), CompanyID: u.CompanyID, UserID: u.ID, CredentialID: cred.ID, UserHandle: pu.handle,
			PublicKey: cred.PublicKey, SignCount: cred.Authenticator.SignCount, BackupEligible: cred.Flags.BackupEligible,
			BackupState: cred.Flags.BackupState, AAGUID: cred.Authenticator.AAGUID, AttestationFormat: cred.AttestationFormat,
			Name: name, CreatedAt: tx.Now(),
		}
		for _, t := range cred.Transport {
			key.Transports = append(key.Transports, string(t))
		}
		if err := tx.CreatePasskey(key); err != nil {
			return err
		}
		return s.passkeyChanged(tx, o, u, key, gatehouse.EventPasskeyAdded, mail.MessagePasskeyAdded, c)
	})
	if err != nil {
		return nil, err
	}
	return key, nil
}

// passkeyChanged audits a passkey the user added or removed and tells them
// by mail.
func (s *Service) passkeyChanged(tx gatehouse.Tx, o *outcome, u *gatehouse.User, key *gatehouse.Passkey, eventType, message string, c Client) error {
	e := event(eventType, u.CompanyID, u.ID, u.ID, c)
	e.Detail = "passkey=" + key.ID
	if err := s.audit(tx, e); err != nil {
		return err
	}
	d := s.mailData(u, c)
	d.Passkey = key.Name
	return s.queueMail(tx, o, u, c, message, d)
}

// passkeyName checks a name a person gave a passkey: trimmed, at most
// PasskeyNameMax characters, no control characters. Empty stays empty.
func passkeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > gatehouse.PasskeyNameMax ||
		strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", gatehouse.Errorf(gatehouse.EInvalidRequest, "A passkey's name has at most %d characters.", gatehouse.PasskeyNameMax)
	}
	return name, nil
}

// Passkeys lists the caller's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, id *Identity) ([]*gatehouse.Passkey, error) {
	var keys []*gatehouse.Passkey
	err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		keys, err = tx.Passkeys(id.User.CompanyID, id.User.ID)
		return err
	})
	return keys, err
}

// RenamePasskey renames one of the caller's passkeys (ENotFound when they
// have no such passkey).
func (s *Service) RenamePasskey(ctx context.Context, id *Identity, passkeyID, name string, c Client) error {
	name, nameErr := passkeyName(name)
	if nameErr == nil && name == "" {
		nameErr = gatehouse.Errorf(gatehouse.EInvalidRequest, "Give the passkey a name.")
	}
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		// Another's passkey is not found, whatever the name: nothing is
		// learnt about it.
		if nameErr != nil {
			if _, err := s.ownPasskey(tx, id, passkeyID); err != nil {
				return err
			}
			return nameErr
		}
		ok, err := tx.RenamePasskey(id.User.CompanyID, id.User.ID, passkeyID, name)
		if err != nil {
			return err
		}
		if !ok {
			return errPasskeyNotFound()
		}
		e := event(gatehouse.EventPasskeyRenamed, id.User.CompanyID, id.User.ID, id.User.ID, c)
		e.Detail = "passkey=" + passkeyID
		return s.audit(tx, e)
	})
}

func errPasskeyNotFound() error {
	return gatehouse.Errorf(gatehouse.ENotFound, "No such passkey.")
}

// BeginPasskeyReauth starts a ceremony with which the caller proves, with
// any of their passkeys, that they are at the keyboard: the other way
// than the password to remove a passkey from a session whose login is
// older than ReauthWindow.
func (s *Service) BeginPasskeyReauth(ctx context.Context, id *Identity, c Client) (PasskeyOptions, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return nil, err
	}
	var opts PasskeyOptions
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		pu, err := loadPasskeyUser(tx, id.User)
		if err != nil {
			return err
		}
		if len(pu.keys) == 0 {
			return errPasskeyNotFound()
		}
		assertion, sd, err := rp.BeginLogin(pu, webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return err
		}
		opts, err = saveCeremony(tx, gatehouse.CeremonyReauth, assertion, sd, func(pc *gatehouse.PasskeyCeremony) {
			pc.UserID, pc.SessionID = id.User.ID, id.Session.ID
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return opts, nil
}

// Reauth is how a sensitive change proves that the person is at the
// keyboard when the session's login is old: the password, or an answer to
// BeginPasskeyReauth.
type Reauth struct {
	Password string
	Passkey  []byte
}

// RemovePasskey removes one of the caller's passkeys. When the session's
// login is older than ReauthWindow it takes the password or another
// passkey's answer (EReauthenticationRequired without either); one given
// is always checked. While the company requires 2FA, the last second
// factor cannot go (ETOTPRequiredByCompany). The user is told by mail.
func (s *Service) RemovePasskey(ctx context.Context, id *Identity, passkeyID string, re Reauth, c Client) error {
	rp, err := s.relyingParty()
	if err != nil {
		return err
	}
	var parsed *protocol.ParsedCredentialAssertionData
	switch {
	case re.Password != "":
		if err := s.verifyCurrentPassword(ctx, id.User, re.Password); err != nil {
			return err
		}
	case len(re.Passkey) > 0:
		if parsed, err = protocol.ParseCredentialRequestResponseBytes(re.Passkey); err != nil {
			return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
				return s.passkeyFailed(tx, o, id.User, passkeyReasonMalformed, c)
			})
		}
	default:
		if needsReauth(id.Session, s.now(ctx)) {
			return errReauthenticate()
		}
	}
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		u, err := s.freshUser(tx, id.User, re.Password != "")
		if err != nil {
			return err
		}
		if parsed != nil {
			cer, sd, reason, err := takeCeremony(tx, gatehouse.CeremonyReauth, parsed.Response.CollectedClientData.Challenge)
			if err != nil {
				return err
			}
			if reason == "" && (cer.UserID != u.ID || cer.SessionID != id.Session.ID) {
				reason = passkeyReasonMismatch
			}
			if reason == "" {
				pu, err := loadPasskeyUser(tx, u)
				if err != nil {
					return err
				}
				if _, reason, err = s.verifyAssertion(tx, rp, pu, sd, parsed, false); err != nil {
					return err
				}
			}
			if reason != "" {
				return s.passkeyFailed(tx, o, u, reason, c)
			}
		}
		if u.Passkeys == 1 && !u.TOTPEnabled() {
			if err := checkCompanyAllowsNoSecondFactor(tx, u.CompanyID); err != nil {
				return err
			}
		}
		key, err := tx.DeletePasskey(u.CompanyID, u.ID, passkeyID)
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			return errPasskeyNotFound()
		}
		if err != nil {
			return err
		}
		return s.passkeyChanged(tx, o, u, key, gatehouse.EventPasskeyRemoved, mail.MessagePasskeyRemoved, c)
	})
}

// BeginPasskeyLogin starts a sign-in with a passkey and no password: the
// browser offers the passkeys it has for this site (discoverable
// credentials), in a dialog or, with conditional, in the email field's
// autofill. User verification is required: the passkey is then two
// factors.
//
// It writes nothing: the challenge is the ceremony, sealed (see
// sealLoginChallenge), and any node with the key finishes it.
func (s *Service) BeginPasskeyLogin(ctx context.Context, conditional bool, c Client) (PasskeyOptions, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return nil, err
	}
	mediation := protocol.MediationDefault
	if conditional {
		mediation = protocol.MediationConditional
	}
	// An address that keeps failing is turned away here already, on a
	// read; its answers would be refused anyway.
	var challenge []byte
	if err := s.store.View(ctx, func(tx gatehouse.Tx) error {
		if err := addressLimit.check(tx, failureKey(c.IP)); err != nil {
			return err
		}
		challenge = s.sealLoginChallenge(tx.Now())
		return nil
	}); err != nil {
		return nil, err
	}
	assertion, _, err := rp.BeginDiscoverableMediatedLogin(mediation,
		webauthn.WithUserVerification(protocol.VerificationRequired), webauthn.WithChallenge(challenge))
	if err != nil {
		return nil, err
	}
	return json.Marshal(assertion)
}

// loginChallengeAAD binds a sealed value to its purpose: nothing else the
// key seals (a TOTP secret, a mail, a webhook secret) opens as a login
// challenge, nor a login challenge as anything else.
var loginChallengeAAD = []byte("gatehouse passkey login challenge")

// A login challenge's plaintext: its expiry (Unix milliseconds, big
// endian) and 16 random bytes.
const (
	loginChallengeRandom = 16
	loginChallengeSize   = 8 + loginChallengeRandom
)

// sealLoginChallenge returns the challenge of a discoverable sign-in begun
// at now: sealed server state (57 bytes, 76 characters of base64url in the
// client data), which says when it expires and that it is a login
// challenge, and which no one without the --secret-key-file key can make
// or alter. Its random bytes and the seal's own random nonce make each one
// different.
func (s *Service) sealLoginChallenge(now time.Time) []byte {
	p := make([]byte, loginChallengeSize)
	binary.BigEndian.PutUint64(p, uint64(now.Add(PasskeyCeremonyLifetime).UnixMilli()))
	rand.Read(p[8:])
	return s.sealer.Seal(p, loginChallengeAAD)
}

// loginChallenge is a sealed login challenge that opened.
type loginChallenge struct {
	challenge string // as the library compares it: base64url, no padding
	hash      []byte // what UseLoginChallenge records
	expires   time.Time
}

// openLoginChallenge opens the challenge an answer's client data names. It
// returns a refusal reason when there is none (malformed), or it is not a
// login challenge this key sealed, or it has expired at now
// (unknown_ceremony, as for a ceremony the database does not have).
func (s *Service) openLoginChallenge(challenge string, now time.Time) (*loginChallenge, string) {
	if challenge == "" {
		return nil, passkeyReasonMalformed
	}
	// Strict: one string per value, so that the string the library
	// compares is the one sealed.
	sealed, err := base64.RawURLEncoding.Strict().DecodeString(challenge)
	if err != nil {
		return nil, passkeyReasonCeremony
	}
	p, err := s.sealer.Open(sealed, loginChallengeAAD)
	if errors.Is(err, seal.ErrWrongKey) {
		s.log.Warn("a passkey sign-in's challenge was sealed under another key: do all nodes have the same --secret-key-file?")
	}
	if err != nil || len(p) != loginChallengeSize {
		return nil, passkeyReasonCeremony
	}
	expires := time.UnixMilli(int64(binary.BigEndian.Uint64(p)))
	if !now.Before(expires) {
		return nil, passkeyReasonCeremony
	}
	// Another prefix than challengeHash's: the row of a used login
	// challenge is never the row of another kind's ceremony, so that
	// their consumption (DELETE by hash) cannot take it away.
	h := sha256.Sum256(append([]byte("gatehouse-passkey-login-challenge:"), sealed...))
	return &loginChallenge{challenge: base64.RawURLEncoding.EncodeToString(sealed), hash: h[:], expires: expires}, ""
}

// sessionData is the library's session data of a login challenge: what
// BeginPasskeyLogin's call of the library made and threw away.
func (ch *loginChallenge) sessionData(rp *webauthn.WebAuthn) *webauthn.SessionData {
	return &webauthn.SessionData{Challenge: ch.challenge, RelyingPartyID: rp.Config.RPID,
		UserVerification: protocol.VerificationRequired}
}

// FinishPasskeyLogin checks the browser's answer to BeginPasskeyLogin and
// signs the passkey's owner in: the next login step (a temporary password
// to replace) or a session whose methods are hwk and mfa. The challenge is
// used up, answered or refused. A refused answer is EInvalidPasskey,
// audited with the reason and counted against the client's address.
//
// The challenge is opened and the library verifies the answer (the
// signature above all) before the transaction, against what a read of the
// passkey saw, so that SQLite's one writer is not held for it; the
// transaction then records the challenge as used (of racing answers one
// inserts it), reads the passkey and its owner again, and takes the
// counter forward from the value it reads, with the library's rule.
func (s *Service) FinishPasskeyLogin(ctx context.Context, answer []byte, c Client) (*LoginResult, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return nil, err
	}
	parsed, perr := protocol.ParseCredentialRequestResponseBytes(answer)
	var checked *passkeyLoginCheck
	if perr == nil {
		if err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
			checked, err = s.checkPasskeyLogin(tx, rp, parsed)
			return err
		}); err != nil {
			return nil, err
		}
	}
	var res *LoginResult
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		if err := addressLimit.check(tx, failureKey(c.IP)); err != nil {
			return err
		}
		if perr != nil {
			return s.passkeyFailed(tx, o, nil, passkeyReasonMalformed, c)
		}
		key, owner, err := passkeyOwner(tx, parsed.RawID)
		if err != nil {
			return err
		}
		reason := checked.challengeReason
		if reason == "" {
			if reason, err = useLoginChallenge(tx, checked.challenge); err != nil {
				return err
			}
		}
		if reason == "" && owner == nil {
			reason = passkeyReasonUnknown
		}
		if reason != "" {
			return s.passkeyFailed(tx, o, owner, reason, c)
		}
		if owner.Status() == gatehouse.StatusDisabled {
			o.err = errAccountDisabled()
			return s.audit(tx, event(gatehouse.EventLoginDisabledAccount, owner.CompanyID, "", owner.ID, c))
		}
		switch {
		case checked.key == nil || checked.key.ID != key.ID:
			// What the check read is gone (the passkey removed and the
			// credential registered again, say): the answer was not
			// verified against what is here.
			reason = passkeyReasonInvalid
		case checked.reason != "":
			reason = checked.reason
		default:
			// The counter goes forward from the value stored now: of two
			// answers with one counter (a clone's), one signs in.
			if reason, err = usePasskey(tx, key, parsed.Response.AuthenticatorData.Counter, checked.backupState); err != nil {
				return err
			}
		}
		if reason != "" {
			return s.passkeyFailed(tx, o, owner, reason, c)
		}
		res, err = s.advance(tx, o, owner, gatehouse.StepTOTP|gatehouse.StepPasskey, c)
		return err
	})
	s.countLogin(err)
	if err != nil {
		return nil, err
	}
	s.metrics.Logins.Inc(res.Status)
	return res, nil
}

// usedLoginChallengeKept is how long the record of a used sign-in
// challenge outlives the challenge: housekeeping on a node whose clock is
// ahead must not delete it while a node whose clock is behind still takes
// the challenge for live.
const usedLoginChallengeKept = time.Minute

// useLoginChallenge records a sign-in's challenge as used, in the
// transaction that decides the sign-in: the replay of an answer, or the
// loser of racing ones, is refused as for a ceremony used up.
func useLoginChallenge(tx gatehouse.Tx, ch *loginChallenge) (string, error) {
	if !tx.Now().Before(ch.expires) {
		return passkeyReasonCeremony, nil
	}
	fresh, err := tx.UseLoginChallenge(ch.hash, ch.expires.Add(usedLoginChallengeKept))
	if err != nil || fresh {
		return "", err
	}
	return passkeyReasonCeremony, nil
}

// passkeyLoginCheck is the verdict on a sign-in's answer, made on a read
// before the transaction: the challenge opened (or why not), the passkey
// the answer was checked against, and the library's refusal reason or the
// backup state to record.
type passkeyLoginCheck struct {
	challenge       *loginChallenge
	challengeReason string
	key             *gatehouse.Passkey
	reason          string
	backupState     bool
}

// checkPasskeyLogin opens a sign-in's challenge and verifies the answer
// against it and the passkey it signs with, changing nothing.
func (s *Service) checkPasskeyLogin(tx gatehouse.Tx, rp *webauthn.WebAuthn, parsed *protocol.ParsedCredentialAssertionData) (*passkeyLoginCheck, error) {
	ch, reason := s.openLoginChallenge(parsed.Response.CollectedClientData.Challenge, tx.Now())
	if reason != "" {
		return &passkeyLoginCheck{challengeReason: reason}, nil
	}
	key, owner, err := passkeyOwner(tx, parsed.RawID)
	if err != nil || owner == nil {
		return &passkeyLoginCheck{challenge: ch, reason: passkeyReasonUnknown}, err
	}
	pu := &passkeyUser{u: owner, handle: key.UserHandle, keys: []*gatehouse.Passkey{key}}
	_, cred, reason := s.checkAssertion(rp, pu, ch.sessionData(rp), parsed, true)
	check := &passkeyLoginCheck{challenge: ch, key: key, reason: reason}
	if cred != nil {
		check.backupState = cred.Flags.BackupState
	}
	return check, nil
}

// BeginPasskeySecondFactor starts the second step of a login whose
// password was right with one of the user's passkeys instead of a code: the
// challenge is the one totp_required or passkey_required answered.
func (s *Service) BeginPasskeySecondFactor(ctx context.Context, challenge string, c Client) (PasskeyOptions, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return nil, err
	}
	var opts PasskeyOptions
	err = s.updateLazy(ctx, func(tx gatehouse.Tx, o *outcome) error {
		if err := addressLimit.check(tx, failureKey(c.IP)); err != nil {
			return err
		}
		p, err := s.loadChallenge(tx, challenge, gatehouse.StepTOTP)
		if err != nil {
			return err
		}
		pu, err := loadPasskeyUser(tx, p.user)
		if err != nil {
			return err
		}
		if len(pu.keys) == 0 {
			return gatehouse.Errorf(gatehouse.ENotFound, "You have no passkey. Use the code from your authenticator app.")
		}
		assertion, sd, err := rp.BeginLogin(pu, webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return err
		}
		opts, err = saveCeremony(tx, gatehouse.CeremonySecondFactor, assertion, sd, func(pc *gatehouse.PasskeyCeremony) {
			pc.UserID, pc.LoginChallengeID = p.user.ID, p.ch.ID
		})
		return err
	})
	if err != nil {
		return nil, s.countBadToken(ctx, err, c)
	}
	return opts, nil
}

// FinishPasskeySecondFactor checks the answer to BeginPasskeySecondFactor
// and moves the login on, as a right code would. A refused answer counts
// against the challenge (five end it) and the account like a wrong code.
func (s *Service) FinishPasskeySecondFactor(ctx context.Context, challenge string, answer []byte, c Client) (*LoginResult, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return nil, err
	}
	parsed, perr := protocol.ParseCredentialRequestResponseBytes(answer)
	var res *LoginResult
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		p, err := s.reserveCodeAttempt(tx, challenge, gatehouse.StepTOTP, c)
		if err != nil {
			return err
		}
		reason := passkeyReasonMalformed
		var sd *webauthn.SessionData
		if perr == nil {
			var cer *gatehouse.PasskeyCeremony
			cer, sd, reason, err = takeCeremony(tx, gatehouse.CeremonySecondFactor, parsed.Response.CollectedClientData.Challenge)
			if err != nil {
				return err
			}
			if reason == "" && (cer.UserID != p.user.ID || cer.LoginChallengeID != p.ch.ID) {
				reason = passkeyReasonMismatch
			}
		}
		if reason == "" {
			pu, err := loadPasskeyUser(tx, p.user)
			if err != nil {
				return err
			}
			if _, reason, err = s.verifyAssertion(tx, rp, pu, sd, parsed, false); err != nil {
				return err
			}
		}
		if reason != "" {
			if _, err := tx.AddChallengeFailure(p.ch.ID); err != nil {
				return err
			}
			return s.passkeyFailed(tx, o, p.user, reason, c)
		}
		if err := passCode(tx, p); err != nil {
			return err
		}
		res, err = s.advance(tx, o, p.user, p.ch.Passed|gatehouse.StepTOTP|gatehouse.StepPasskey, c)
		return err
	})
	return s.codeStepDone(ctx, res, err, c)
}

// checkCompanyAllowsNoSecondFactor refuses to remove a user's last second
// factor while their company requires 2FA.
func checkCompanyAllowsNoSecondFactor(tx gatehouse.Tx, companyID string) error {
	company, err := tx.Company(companyID)
	if err != nil {
		return err
	}
	if company.RequireTOTP {
		return errRequiredByCompany()
	}
	return nil
}

// LoginSecondFactors says which second factors the login in progress may
// answer with: the app's code (and recovery codes), a passkey. It changes
// nothing, so a page can ask on every GET.
func (s *Service) LoginSecondFactors(ctx context.Context, challenge string) (totp, passkey bool, err error) {
	err = s.store.View(ctx, func(tx gatehouse.Tx) error {
		p, err := s.loadChallenge(tx, challenge, gatehouse.StepTOTP)
		if err != nil {
			return err
		}
		totp, passkey = p.user.TOTPEnabled(), p.user.Passkeys > 0
		return nil
	})
	return totp, passkey, err
}

// ownPasskey returns the caller's passkey (ENotFound for anyone else's).
func (s *Service) ownPasskey(tx gatehouse.Tx, id *Identity, passkeyID string) (*gatehouse.Passkey, error) {
	keys, err := tx.Passkeys(id.User.CompanyID, id.User.ID)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.ID == passkeyID {
			return k, nil
		}
	}
	return nil, errPasskeyNotFound()
}

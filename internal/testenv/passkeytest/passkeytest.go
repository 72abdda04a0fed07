// Package passkeytest is a software WebAuthn authenticator for tests: a
// real peer of Gatehouse's relying party. It holds real ECDSA P-256 keys,
// builds the client data a browser would send and the authenticator data
// an authenticator would sign, and signs them; the encodings (CBOR, COSE)
// come from the go-webauthn library's own packages, so nothing of the
// relying party's verification is stood in for.
//
// Each field of Authenticator can be set to misbehave the way a phishing
// page, a cloned key or a careless authenticator would: another origin,
// another relying party id, no user verification, a counter that goes
// back.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Credential is a key pair the authenticator made for a relying party.
type Credential struct {
	ID         []byte
	RPID       string
	UserHandle []byte
	Key        *ecdsa.PrivateKey
	Counter    uint32
}

// Authenticator is a platform authenticator with resident keys.
type Authenticator struct {
	// Origin is what the browser reports as the page's origin: the
	// relying party's public URL, or a phishing site's.
	Origin string
	// RPID, when set, is the relying party id signed for instead of the
	// one the options name.
	RPID string
	// NoUserVerification clears the UV flag: the authenticator did not
	// check a fingerprint or PIN.
	NoUserVerification bool
	// CounterStep is added to a credential's counter at each use (1 when
	// zero); a negative step makes it go back, to 0 at most. NoCounter
	// keeps it at 0, as synced passkeys do.
	CounterStep int
	NoCounter   bool
	// BackupEligible and BackupState set the BE and BS flags.
	BackupEligible, BackupState bool
	AAGUID                      [16]byte

	mu    sync.Mutex
	creds []*Credential
}

// New returns an authenticator for pages at origin.
func New(origin string) *Authenticator { return &Authenticator{Origin: origin} }

// Credentials returns the credentials made so far.
func (a *Authenticator) Credentials() []*Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*Credential(nil), a.creds...)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// clientData is what the browser hashes and sends beside the signature.
func (a *Authenticator) clientData(typ protocol.CeremonyType, challenge protocol.URLEncodedBase64) []byte {
	b, _ := json.Marshal(map[string]any{
		"type": typ, "challenge": challenge.String(), "origin": a.Origin, "crossOrigin": false,
	})
	return b
}

func (a *Authenticator) flags(attested bool) byte {
	f := protocol.FlagUserPresent
	if !a.NoUserVerification {
		f |= protocol.FlagUserVerified
	}
	if a.BackupEligible {
		f |= protocol.FlagBackupEligible
	}
	if a.BackupState {
		f |= protocol.FlagBackupState
	}
	if attested {
		f |= protocol.FlagAttestedCredentialData
	}
	return byte(f)
}

func (a *Authenticator) rpID(fromOptions string) string {
	if a.RPID != "" {
		return a.RPID
	}
	return fromOptions
}

// authData builds authenticator data: rpIdHash, flags, counter and, at
// registration, the attested credential data.
func (a *Authenticator) authData(rpID string, counter uint32, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append([]byte{}, h[:]...)
	out = append(out, a.flags(attested != nil))
	out = binary.BigEndian.AppendUint32(out, counter)
	return append(out, attested...)
}

// Create answers navigator.credentials.create with options (the JSON the
// relying party sent: {"publicKey": ...}) and returns the
// PublicKeyCredential as JSON, as the page's script would post it.
func (a *Authenticator) Create(options []byte) ([]byte, *Credential, error) {
	var cc protocol.CredentialCreation
	if err := json.Unmarshal(options, &cc); err != nil {
		return nil, nil, fmt.Errorf("creation options: %w", err)
	}
	opts := cc.Response
	userID, err := userHandle(opts.User.ID)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	cred := &Credential{ID: make([]byte, 32), RPID: a.rpID(opts.RelyingParty.ID), UserHandle: userID, Key: key}
	rand.Read(cred.ID)
	a.bump(cred)

	cose, err := webauthncbor.Marshal(&webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1, // P-256
		XCoord:        pad32(key.X.Bytes()), YCoord: pad32(key.Y.Bytes()),
	})
	if err != nil {
		return nil, nil, err
	}
	attested := append(append([]byte{}, a.AAGUID[:]...), byte(len(cred.ID)>>8), byte(len(cred.ID)))
	attested = append(append(attested, cred.ID...), cose...)
	attObj, err := webauthncbor.Marshal(&attestationObject{Format: "none", AttStmt: map[string]any{},
		AuthData: a.authData(cred.RPID, cred.Counter, attested)})
	if err != nil {
		return nil, nil, err
	}
	a.mu.Lock()
	a.creds = append(a.creds, cred)
	a.mu.Unlock()
	out, err := json.Marshal(map[string]any{
		"id": b64(cred.ID), "rawId": b64(cred.ID), "type": "public-key", "authenticatorAttachment": "platform",
		"clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64(a.clientData(protocol.CreateCeremony, opts.Challenge)),
			"attestationObject": b64(attObj),
			"transports":        []string{"internal", "hybrid"},
		},
	})
	return out, cred, err
}

type attestationObject struct {
	Format   string         `cbor:"fmt"`
	AttStmt  map[string]any `cbor:"attStmt"`
	AuthData []byte         `cbor:"authData"`
}

// Get answers navigator.credentials.get with options: with the credential
// the options allow, or, for a discoverable sign-in (no list), the first
// credential for the relying party. It returns the PublicKeyCredential as
// JSON.
func (a *Authenticator) Get(options []byte) ([]byte, error) {
	var ca protocol.CredentialAssertion
	if err := json.Unmarshal(options, &ca); err != nil {
		return nil, fmt.Errorf("request options: %w", err)
	}
	opts := ca.Response
	cred := a.pick(opts.RelyingPartyID, opts.AllowedCredentials)
	if cred == nil {
		return nil, fmt.Errorf("no credential for %q", opts.RelyingPartyID)
	}
	return a.Sign(cred, opts.RelyingPartyID, opts.Challenge)
}

// Sign makes an assertion with cred for challenge, as Get does.
func (a *Authenticator) Sign(cred *Credential, rpID string, challenge protocol.URLEncodedBase64) ([]byte, error) {
	a.bump(cred)
	clientData := a.clientData(protocol.AssertCeremony, challenge)
	authData := a.authData(a.rpID(rpID), cred.Counter, nil)
	hash := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(append([]byte{}, authData...), hash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, cred.Key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64(cred.ID), "rawId": b64(cred.ID), "type": "public-key", "authenticatorAttachment": "platform",
		"clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64(clientData),
			"authenticatorData": b64(authData),
			"signature":         b64(sig),
			"userHandle":        b64(cred.UserHandle),
		},
	})
}

func (a *Authenticator) pick(rpID string, allowed []protocol.CredentialDescriptor) *Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.creds {
		if len(allowed) == 0 && c.RPID == rpID {
			return c
		}
		for _, d := range allowed {
			if string(d.CredentialID) == string(c.ID) {
				return c
			}
		}
	}
	return nil
}

// bump moves a credential's counter on by CounterStep.
func (a *Authenticator) bump(c *Credential) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.NoCounter {
		c.Counter = 0
		return
	}
	step := a.CounterStep
	if step == 0 {
		step = 1
	}
	c.Counter = uint32(max(int64(c.Counter)+int64(step), 0))
}

// userHandle reads the user entity's id, which the library sends as
// base64url.
func userHandle(id any) ([]byte, error) {
	s, ok := id.(string)
	if !ok {
		return nil, fmt.Errorf("user id %T", id)
	}
	return base64.RawURLEncoding.DecodeString(s)
}

func pad32(b []byte) []byte {
	if len(b) >= 32 {
		return b
	}
	return append(make([]byte, 32-len(b)), b...)
}

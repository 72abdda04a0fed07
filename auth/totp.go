package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/totp"
)

// RecoveryCodeCount is how many recovery codes a user gets.
const RecoveryCodeCount = 10

// Enrollment is what an authenticator app needs: the secret as text, the
// otpauth URI and that URI as a QR code PNG.
type Enrollment struct {
	Secret string
	URI    string
	QRPNG  []byte
}

func (s *Service) enrollment(u *gatehouse.User, secret []byte) (*Enrollment, error) {
	uri := totp.URI(s.cfg.Product, u.Email, secret)
	png, err := totp.QRPNG(uri)
	if err != nil {
		return nil, err
	}
	return &Enrollment{Secret: totp.EncodeSecret(secret), URI: uri, QRPNG: png}, nil
}

// The additional data binds a sealed secret to its row: a secret copied to
// another user or challenge does not open. A secret offered on the
// profile page is bound to the session that asked for it as well (see
// BeginTOTPEnrollment).
func totpAAD(userID string) []byte               { return []byte("totp:" + userID) }
func challengeTOTPAAD(challengeID string) []byte { return []byte("totp-challenge:" + challengeID) }
func pendingTOTPAAD(userID, sessionID string) []byte {
	return []byte("totp-pending:" + userID + ":" + sessionID)
}

// userSecret opens the user's confirmed TOTP secret.
func (s *Service) userSecret(u *gatehouse.User) ([]byte, error) {
	return s.sealer.Open(u.TOTPSecret, totpAAD(u.ID))
}

// recoveryAlphabet leaves out look-alikes (0/O, 1/I/L, 5/S, 8/B).
const recoveryAlphabet = "ACDEFGHJKMNPQRTUVWXY2345679"

// newRecoveryCodes returns codes to show once and their hashes to store.
// Each code has 10 characters from 27 (47 bits); with account throttling
// that is far out of reach of guessing, so a fast salted hash is enough.
func newRecoveryCodes(userID string) (codes []string, hashes [][]byte) {
	for range RecoveryCodeCount {
		b := make([]byte, 10)
		for i := range b {
			b[i] = recoveryAlphabet[randIndex(len(recoveryAlphabet))]
		}
		code := string(b[:5]) + "-" + string(b[5:])
		codes = append(codes, code)
		hashes = append(hashes, recoveryHash(userID, code))
	}
	return codes, hashes
}

// randIndex returns a uniform random index below n (n < 256).
func randIndex(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// normalizeRecoveryCode accepts what a person types: any case, with or
// without the hyphen and spaces.
func normalizeRecoveryCode(s string) (string, bool) {
	s = strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(s))
	if len(s) != 10 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(recoveryAlphabet, rune(s[i])) {
			return "", false
		}
	}
	return s[:5] + "-" + s[5:], true
}

func recoveryHash(userID, code string) []byte {
	h := sha256.Sum256([]byte("gatehouse-recovery:" + userID + ":" + code))
	return h[:]
}

// LoginTOTP checks the 6-digit code, or a recovery code, of a login that
// answered totp_required. Wrong codes count against the challenge (five
// end it) and against the account, across challenges.
func (s *Service) LoginTOTP(ctx context.Context, challenge, code, recoveryCode string, c Client) (*LoginResult, error) {
	var res *LoginResult
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		p, err := s.reserveCodeAttempt(tx, challenge, gatehouse.StepTOTP, c)
		if err != nil {
			return err
		}
		ok := false
		usedRecovery := false
		if recoveryCode != "" {
			if rc, valid := normalizeRecoveryCode(recoveryCode); valid {
				ok, err = tx.UseRecoveryCode(p.user.ID, recoveryHash(p.user.ID, rc))
				if err != nil {
					return err
				}
				usedRecovery = ok
			}
		} else if p.user.TOTPEnabled() {
			// A user whose second factor is a passkey alone has no code.
			secret, err := s.userSecret(p.user)
			if err != nil {
				return err
			}
			if step, valid := totp.Verify(secret, code, tx.Now(), p.user.TOTPLastStep); valid {
				// The conditional update decides races between two logins
				// with the same code, on every node.
				ok, err = tx.UseTOTPStep(p.user.ID, step)
				if err != nil {
					return err
				}
			}
		}
		if !ok {
			return s.failCode(tx, o, p, c)
		}
		if err := passCode(tx, p); err != nil {
			return err
		}
		if usedRecovery {
			left, err := tx.CountRecoveryCodes(p.user.ID)
			if err != nil {
				return err
			}
			e := event(gatehouse.EventRecoveryCodeUsed, p.user.CompanyID, p.user.ID, p.user.ID, c)
			e.Detail = "remaining=" + itoa(left)
			if err := s.audit(tx, e); err != nil {
				return err
			}
			if err := s.queueMail(tx, o, p.user, c, mail.MessageRecoveryCodeUsed, s.mailData(p.user, c)); err != nil {
				return err
			}
		}
		res, err = s.advance(tx, o, p.user, p.ch.Passed|gatehouse.StepTOTP, c)
		return err
	})
	return s.codeStepDone(ctx, res, err, c)
}

// codeStepDone ends a login's code step (the app's code, a recovery code,
// a passkey as the second factor): a refusal is counted in the login
// metrics and, when it refused a challenge token that matches nothing,
// against the client's address (countBadToken); a result as a login.
func (s *Service) codeStepDone(ctx context.Context, res *LoginResult, err error, c Client) (*LoginResult, error) {
	if err != nil {
		s.countLogin(err)
		return nil, s.countBadToken(ctx, err, c)
	}
	s.metrics.Logins.Inc(res.Status)
	return res, nil
}

// reserveCodeAttempt finds the challenge of a code step and counts the
// attempt against the account before the code is checked (see
// limit.reserve). The reservation also serialises the account's attempts on
// every database, so the challenge is read again after it: parallel guesses
// then see each other's failures, and a challenge takes five wrong codes at
// most however they are sent.
func (s *Service) reserveCodeAttempt(tx gatehouse.Tx, challenge string, step gatehouse.Step, c Client) (*pendingLogin, error) {
	if err := addressLimit.check(tx, failureKey(c.IP)); err != nil {
		return nil, err
	}
	p, err := s.loadChallenge(tx, challenge, step)
	if err != nil {
		return nil, err
	}
	if err := accountLimit.reserve(tx, accountKey(p.user.Email)); err != nil {
		return nil, err
	}
	return s.loadChallenge(tx, challenge, step)
}

func errEnrollmentRequired() error {
	return gatehouse.Errorf(gatehouse.ETOTPEnrollmentRequired,
		"Start the setup first: scan a new QR code with your authenticator app, then enter its code.")
}

// LoginTOTPSetup offers a new secret to a user whom the company requires to
// set up 2FA before the login completes. Each call makes a new secret.
func (s *Service) LoginTOTPSetup(ctx context.Context, challenge string, c Client) (*Enrollment, error) {
	var en *Enrollment
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		if err := addressLimit.check(tx, failureKey(c.IP)); err != nil {
			return err
		}
		p, err := s.loadChallenge(tx, challenge, gatehouse.StepTOTPSetup)
		if err != nil {
			return err
		}
		secret := totp.NewSecret()
		if err := tx.SetChallengePendingSecret(p.ch.ID, s.sealer.Seal(secret, challengeTOTPAAD(p.ch.ID))); err != nil {
			return err
		}
		en, err = s.enrollment(p.user, secret)
		return err
	})
	if err != nil {
		return nil, s.countBadToken(ctx, err, c)
	}
	return en, nil
}

// LoginTOTPSetupConfirm turns 2FA on with the secret offered by
// LoginTOTPSetup once a code from the app matches, and completes the login
// with the recovery codes.
func (s *Service) LoginTOTPSetupConfirm(ctx context.Context, challenge, code string, c Client) (*LoginResult, error) {
	var res *LoginResult
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		p, err := s.reserveCodeAttempt(tx, challenge, gatehouse.StepTOTPSetup, c)
		if err != nil {
			return err
		}
		if p.ch.TOTPPendingSecret == nil {
			return errEnrollmentRequired()
		}
		secret, err := s.sealer.Open(p.ch.TOTPPendingSecret, challengeTOTPAAD(p.ch.ID))
		if err != nil {
			return err
		}
		step, ok := totp.Verify(secret, code, tx.Now(), 0)
		if !ok {
			return s.failCode(tx, o, p, c)
		}
		if err := passCode(tx, p); err != nil {
			return err
		}
		codes, err := s.enableTOTP(tx, o, p.user, secret, step, "", c)
		if err != nil {
			return err
		}
		res, err = s.advance(tx, o, p.user, p.ch.Passed|gatehouse.StepTOTP|gatehouse.StepTOTPSetup, c)
		if err != nil {
			return err
		}
		res.RecoveryCodes = codes
		return nil
	})
	return s.codeStepDone(ctx, res, err, c)
}

// enableTOTP stores a confirmed secret with fresh recovery codes, audits and
// tells the user. It returns the recovery codes to show once.
func (s *Service) enableTOTP(tx gatehouse.Tx, o *outcome, u *gatehouse.User, secret []byte, step int64, actorID string, c Client) ([]string, error) {
	sealed := s.sealer.Seal(secret, totpAAD(u.ID))
	if err := tx.SetUserTOTP(u.ID, sealed, step); err != nil {
		return nil, err
	}
	u.TOTPSecret, u.TOTPLastStep, u.TOTPEnabledAt = sealed, step, tx.Now()
	codes, hashes := newRecoveryCodes(u.ID)
	if err := tx.ReplaceRecoveryCodes(u.ID, hashes); err != nil {
		return nil, err
	}
	if actorID == "" {
		actorID = u.ID
	}
	if err := s.audit(tx, event(gatehouse.EventTOTPEnabled, u.CompanyID, actorID, u.ID, c)); err != nil {
		return nil, err
	}
	if err := s.queueMail(tx, o, u, c, mail.MessageTOTPEnabled, s.mailData(u, c)); err != nil {
		return nil, err
	}
	return codes, nil
}

// mailData fills what every message about u says.
func (s *Service) mailData(u *gatehouse.User, c Client) mail.Data {
	return mail.Data{Name: u.Name, Email: u.Email, IP: c.IP, UserAgent: userAgent(c.UserAgent)}
}

// LoginTOTPSetupPending returns the secret already offered to a login in
// forced setup, or nil when none was offered yet. It changes nothing, so a
// page can show it on every GET.
func (s *Service) LoginTOTPSetupPending(ctx context.Context, challenge string) (*Enrollment, error) {
	var en *Enrollment
	err := s.store.View(ctx, func(tx gatehouse.Tx) error {
		p, err := s.loadChallenge(tx, challenge, gatehouse.StepTOTPSetup)
		if err != nil || p.ch.TOTPPendingSecret == nil {
			return err
		}
		secret, err := s.sealer.Open(p.ch.TOTPPendingSecret, challengeTOTPAAD(p.ch.ID))
		if err != nil {
			return err
		}
		en, err = s.enrollment(p.user, secret)
		return err
	})
	return en, err
}

package civiq

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Single sign-on (issue 17): staff sign in through the province's identity
// platform (OpenID Connect) or a hall's directory (LDAP). The adapters
// (package sso) speak the protocols and say who signed in, an Identity;
// the domain decides here, from the values of one claim or the directory's
// groups, the user's role and halls (RoleMap), and opens the same session
// a password opens. Local accounts stay: the first admin is always one, a
// break-glass way in when the platform is away.

// Sources of users: who checks their password.
const (
	SourceLocal = "local" // a password kept here (argon2id)
	SourceOIDC  = "oidc"  // the OpenID Connect identity platform
	SourceLDAP  = "ldap"  // the directory
)

// externalHash is the password hash of a user whom an identity platform or
// a directory signs in: no password matches it (CheckPassword reads only
// argon2id), and it names the source, so that it travels wherever users
// travel (edge nodes copy users with their hashes).
const externalHash = "external:"

// Source says who checks u's password: SourceLocal, SourceOIDC or
// SourceLDAP.
func (u *User) Source() string {
	if s, ok := strings.CutPrefix(u.PasswordHash, externalHash); ok {
		return s
	}
	return SourceLocal
}

// Identity is who an identity platform or a directory says signed in.
type Identity struct {
	Source   string // SourceOIDC or SourceLDAP
	Username string
	// Groups are the values of the configured claim (OIDC) or the
	// directory groups' names (LDAP), which the RoleMap reads.
	Groups []string
}

// Directory checks a username and password against a directory (LDAP, in
// package sso) and says who it is. A wrong password or an unknown name is
// an EUnauthorized error; a directory away is any other error.
type Directory interface {
	Authenticate(ctx context.Context, username, password string) (*Identity, error)
}

// RoleRule gives the users carrying Value (a claim's value or a group) a
// role and, but for admins, halls.
type RoleRule struct {
	Value string   `json:"value"`
	Role  string   `json:"role"`
	Halls []string `json:"halls,omitempty"`
}

// RoleMap is an installation's mapping of claim values or groups to roles
// and halls, written as rules separated by ";" or new lines:
//
//	civiq-admins=admin; demo-managers=manager:demo; demo-staff=staff:demo,branch
//
// A value may hold "=" (a group's DN: cn=staff,ou=groups,dc=example=staff:demo):
// the last "=" of a rule splits it. A value "*" matches everyone the
// platform signs in. A user carrying
// several values gets the highest role among the rules they match (admin,
// then manager, then staff) and the halls of every matched rule of that
// role.
type RoleMap []RoleRule

// maxRoleRules bounds a mapping, as every list that comes from outside.
const maxRoleRules = 1000

// ParseRoleMap reads a mapping (RoleMap); "" is an empty one, which lets
// nobody in.
func ParseRoleMap(s string) (RoleMap, error) {
	var m RoleMap
	seen := map[string]bool{}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' || r == '\r' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		// The last "=" splits: a value may be a group's DN (cn=x,ou=y).
		i := strings.LastIndex(part, "=")
		if i < 0 {
			i = len(part)
		}
		value, target := strings.TrimSpace(part[:i]), part[min(i+1, len(part)):]
		if i == len(part) || value == "" {
			return nil, fmt.Errorf("role rule %q: want value=role or value=role:hall,hall", part)
		}
		if strings.ContainsFunc(value, func(r rune) bool { return r < ' ' || r == 0x7f }) || len(value) > 256 {
			return nil, fmt.Errorf("role rule %q: the value has a control character or is longer than 256 bytes", part)
		}
		if seen[value] {
			return nil, fmt.Errorf("role rule %q: %q is mapped twice", part, value)
		}
		seen[value] = true
		role, hallList, _ := strings.Cut(target, ":")
		r := RoleRule{Value: value, Role: strings.TrimSpace(role)}
		if !ValidRole(r.Role) {
			return nil, fmt.Errorf("role rule %q: role must be admin, manager or staff", part)
		}
		for _, h := range strings.Split(hallList, ",") {
			if h = strings.TrimSpace(h); h == "" {
				continue
			}
			if !ValidID(h) {
				return nil, fmt.Errorf("role rule %q: %q is not a hall id", part, h)
			}
			if !slices.Contains(r.Halls, h) {
				r.Halls = append(r.Halls, h)
			}
		}
		switch {
		case r.Role == RoleAdmin && len(r.Halls) > 0:
			return nil, fmt.Errorf("role rule %q: an admin has every hall, name none", part)
		case r.Role != RoleAdmin && len(r.Halls) == 0:
			return nil, fmt.Errorf("role rule %q: a %s needs at least one hall", part, r.Role)
		}
		if len(m) == maxRoleRules {
			return nil, fmt.Errorf("at most %d role rules", maxRoleRules)
		}
		m = append(m, r)
	}
	return m, nil
}

// String writes m as ParseRoleMap reads it.
func (m RoleMap) String() string {
	parts := make([]string, len(m))
	for i, r := range m {
		parts[i] = r.Value + "=" + r.Role
		if len(r.Halls) > 0 {
			parts[i] += ":" + strings.Join(r.Halls, ",")
		}
	}
	return strings.Join(parts, "; ")
}

// roleRank orders roles for RoleMap.Decide: the highest wins.
func roleRank(role string) int {
	switch role {
	case RoleAdmin:
		return 3
	case RoleManager:
		return 2
	case RoleStaff:
		return 1
	}
	return 0
}

// Decide gives the role and halls of a user carrying groups; ok is false
// when no rule matches.
func (m RoleMap) Decide(groups []string) (role string, halls []string, ok bool) {
	for _, r := range m {
		if r.Value != "*" && !slices.Contains(groups, r.Value) {
			continue
		}
		switch rank := roleRank(r.Role); {
		case rank > roleRank(role):
			role, halls = r.Role, append([]string{}, r.Halls...)
		case rank == roleRank(role):
			for _, h := range r.Halls {
				if !slices.Contains(halls, h) {
					halls = append(halls, h)
				}
			}
		}
	}
	if role == "" {
		return "", nil, false
	}
	if role == RoleAdmin {
		halls = nil
	}
	slices.Sort(halls)
	return role, halls, true
}

// Audit events of single sign-on.
const (
	AuditSSOLogin = "sso.login" // a user signed in through the identity platform or the directory
	// The platform or directory said who, civiq refused them: no rule of
	// the mapping matched, the username is not one civiq holds, the name
	// is a local user's (or another source's), the mapping names a hall
	// civiq does not have.
	AuditSSONoRole      = "sso.refused.no_role"
	AuditSSOBadUsername = "sso.refused.bad_username"
	AuditSSONameTaken   = "sso.refused.name_taken"
	AuditSSOUnknownHall = "sso.refused.unknown_hall"
	// Refusals before anyone is known (the identity platform's answer
	// to this site's callback, AuditExternal): the platform answered
	// with an error (access_denied: the person said no, or the platform
	// refused them); the answer came without the sign-in's cookie or
	// with another sign-in's state; the platform refused the code
	// (replayed, expired, not this client's); the ID token was missing,
	// not valid or another sign-in's (nonce), or named nobody.
	AuditSSOPlatformRefused = "sso.refused.platform"
	AuditSSOBadState        = "sso.refused.state"
	AuditSSOBadCode         = "sso.refused.code"
	AuditSSOBadToken        = "sso.refused.token"
)

// auditSSO keeps an audit event of single sign-on: what (audit), who
// (username, when known), through which source, from which address
// (the client's, WithClientAddr). Never a secret, a code or a token.
func (e *Engine) auditSSO(ctx context.Context, tx Tx, audit, source, username string) error {
	return tx.AppendAudit(&AuditEvent{Type: audit, At: e.now(), Username: Clip(username, 60), Actor: source,
		Address: strings.TrimPrefix(clientAddrKey(ctx), "addr ")})
}

// AuditExternal records a refusal of the identity platform's answer
// before anyone is known (AuditSSOPlatformRefused, AuditSSOBadState,
// AuditSSOBadCode, AuditSSOBadToken), in a transaction of its own.
func (e *Engine) AuditExternal(ctx context.Context, source, audit string) error {
	switch audit {
	case AuditSSOPlatformRefused, AuditSSOBadState, AuditSSOBadCode, AuditSSOBadToken:
	default:
		return fmt.Errorf("audit of single sign-on: unknown refusal %q", audit)
	}
	return e.update(ctx, func(tx Tx) error { return e.auditSSO(ctx, tx, audit, source, "") })
}

// BeginExternal lets an answer of the identity platform (the callback of
// a sign-in) from ctx's client address through, within the limits of
// password sign-ins (login.go): at most loginInFlight at once per
// address, and loginAddrFailures refused ones per loginWindow, counted
// with its wrong passwords. A refused attempt is rate_limited, answered
// after the hold, with the wait. The attempt ends with done, given how it
// ended: nil signed someone in; a refusal (forbidden, invalid,
// unauthorized) counts against the address; anything else (the platform
// away) does not.
func (e *Engine) BeginExternal(ctx context.Context) (done func(error), err error) {
	addr := clientAddrKey(ctx)
	if err := e.logins.begin(addr, "", e.now()); err != nil {
		return nil, holdRefusal(ctx, err)
	}
	return func(err error) {
		how := attemptRefused
		switch ErrorCode(err) {
		case "":
			how = attemptRight
		case EForbidden, EInvalid, EUnauthorized:
			how = attemptWrong
		}
		e.logins.end(addr, "", how, e.now())
	}, nil
}

// SignInExternal opens a session for someone an identity platform or a
// directory has signed in: m decides their role and halls, which the user
// keeps in step with at every sign-in (made at the first). It refuses,
// with an audit event, an identity m gives no role, a username civiq
// cannot hold, a mapping to a hall that does not exist, and a name that
// belongs to a local user or to another source: a platform never takes a
// local account (the break-glass admin) over.
func (e *Engine) SignInExternal(ctx context.Context, id Identity, m RoleMap) (string, *Session, *User, error) {
	refuse := func(audit string, err *Error) (string, *Session, *User, error) {
		if aerr := e.update(ctx, func(tx Tx) error { return e.auditSSO(ctx, tx, audit, id.Source, id.Username) }); aerr != nil {
			return "", nil, nil, aerr
		}
		return "", nil, nil, err
	}
	if id.Source != SourceOIDC && id.Source != SourceLDAP {
		return "", nil, nil, fmt.Errorf("sign-in from unknown source %q", id.Source)
	}
	if !validUsername(id.Username) {
		return refuse(AuditSSOBadUsername, Errorf(EForbidden, "the identity platform's username %q is not one civiq can hold (1-40 letters, digits, '.', '-' or '_'): ask the platform's administrator", Clip(id.Username, 60)))
	}
	role, halls, ok := m.Decide(id.Groups)
	if !ok {
		return refuse(AuditSSONoRole, Errorf(EForbidden, "%s is signed in, but has no civiq role: ask an administrator to map one of your groups to a role", id.Username))
	}
	token := NewToken()
	s := &Session{TokenHash: HashToken(token), CSRF: NewToken(), ExpiresAt: e.now().Add(SessionTTL)}
	var out *User
	var refusal *Error
	var reason string
	err := e.update(ctx, func(tx Tx) error {
		u, err := tx.User(id.Username)
		switch {
		case IsNotFound(err):
			u = nil
		case err != nil:
			return err
		case u.Source() != id.Source:
			reason, refusal = AuditSSONameTaken, Errorf(EForbidden, "%s is a %s account of civiq: it signs in with its own password, not through the %s", u.Username, u.Source(), sourceName(id.Source))
			return refusal
		}
		if err := checkHalls(tx, halls); err != nil {
			reason, refusal = AuditSSOUnknownHall, Errorf(EForbidden, "the role mapping gives %s a hall civiq does not have (%s): ask an administrator", id.Username, ErrorMessage(err))
			return refusal
		}
		if u == nil || u.Role != role || !slices.Equal(u.HallIDs, halls) {
			if err := e.Refuse(ctx, WorkUsers, ""); err != nil { // edge.go: the city owns users
				return err
			}
		}
		if u == nil {
			u = &User{Username: id.Username, Role: role, HallIDs: halls, PasswordHash: externalHash + id.Source, CreatedAt: e.now()}
			if err := tx.InsertUser(u); err != nil {
				return err
			}
			if err := e.userChanged(tx, u); err != nil { // edgedown.go: the edges hear of it
				return err
			}
		} else if u.Role != role || !slices.Equal(u.HallIDs, halls) {
			before := *u
			if u.Role == RoleAdmin && role != RoleAdmin {
				if err := keepAnAdmin(tx, u.ID); err != nil {
					return Errorf(EConflict, "%s", err.Error())
				}
			}
			u.Role, u.HallIDs = role, halls
			if err := tx.UpdateUser(u); err != nil {
				return err
			}
			if err := e.userChanged(tx, &before, u); err != nil {
				return err
			}
		}
		s.UserID, out = u.ID, u
		if err := tx.InsertSession(s); err != nil {
			return err
		}
		return e.auditSSO(ctx, tx, AuditSSOLogin, id.Source, u.Username)
	})
	if refusal != nil {
		return refuse(reason, refusal)
	}
	if err != nil {
		return "", nil, nil, err
	}
	e.auth.dropUser(out.ID)
	return token, s, out, nil
}

// sourceName names a source in messages.
func sourceName(source string) string {
	if source == SourceLDAP {
		return "directory"
	}
	return "identity platform"
}

// Clip makes s, which may come from outside (an identity platform's
// answer, a username typed in), fit a message or an audit record: control
// characters dropped, cut to at most n runes with "…" after.
func Clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

package api

import (
	"net/http"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/sso"
)

// SSO is the single sign-on set up on this node (civiq serve's --oidc-…
// and --ldap-… flags; package sso): admins read it, nobody changes it
// through the API.
type SSO struct {
	OIDC *sso.OIDC
	LDAP *sso.LDAP
}

func (s *Server) ssoRoutes() {
	s.handle("GET /api/v1/sso", need(civiq.PermAdmin), s.getSSO)
}

func (s *Server) getSSO(w http.ResponseWriter, r *http.Request, c *call) error {
	out := map[string]any{"oidc": nil, "ldap": nil}
	if s.SSO.OIDC != nil {
		out["oidc"] = s.SSO.OIDC.Describe()
	}
	if s.SSO.LDAP != nil {
		out["ldap"] = s.SSO.LDAP.Describe()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

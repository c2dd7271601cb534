package api

import (
	"net/http"
	"strconv"

	"github.com/civiq/civiq"
)

// adminRoutes are the administration page's routes beyond creating things:
// a hall's whole setup in one read, the calling policy (hall managers too),
// recent announcements, and changing or removing users, devices, services
// and counters.
func (s *Server) adminRoutes() {
	s.handle("GET /api/v1/halls/{hall}/setup", need(civiq.PermAdmin), s.hallSetup)
	s.handle("PUT /api/v1/halls/{hall}/policy", need(civiq.PermManageHall), s.putPolicy)
	s.handle("GET /api/v1/halls/{hall}/announcements", need(civiq.PermManageHall), s.listAnnouncements)
	s.handle("DELETE /api/v1/halls/{hall}/services/{service}", need(civiq.PermAdmin), s.deleteService)
	s.handle("DELETE /api/v1/halls/{hall}/counters/{counter}", need(civiq.PermAdmin), s.deleteCounter)
	s.handle("PUT /api/v1/users/{username}", need(civiq.PermAdmin), s.updateUser)
	s.handle("DELETE /api/v1/users/{username}", need(civiq.PermAdmin), s.deleteUser)
	s.handle("DELETE /api/v1/users/{username}/lock", need(civiq.PermAdmin), s.unlockUser)
	s.handle("GET /api/v1/audit", need(civiq.PermAdmin), s.listAudit)
	s.handle("DELETE /api/v1/halls/{hall}/devices/{id}", need(civiq.PermAdmin), s.deleteDevice)
	s.handle("POST /api/v1/halls/{hall}/devices/{id}/pairing-code", need(civiq.PermAdmin), s.newDeviceCode)
}

func (s *Server) hallSetup(w http.ResponseWriter, r *http.Request, c *call) error {
	st, err := s.Engine.HallSetup(r.Context(), r.PathValue("hall"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

type policyRequest struct {
	Policy           string `json:"policy"`
	MaxCalls         int    `json:"max_calls"`
	LateReturnBehind int    `json:"late_return_behind"`
}

func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	var req policyRequest
	if err := decode(c.body, &req, "policy", "max_calls", "late_return_behind"); err != nil {
		return err
	}
	h, err := s.Engine.SetCallingPolicy(r.Context(), r.PathValue("hall"), civiq.CallingPolicy(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"hall": h})
	return nil
}

func (s *Server) listAnnouncements(w http.ResponseWriter, r *http.Request, c *call) error {
	as, err := s.Engine.Announcements(r.Context(), r.PathValue("hall"), 20)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"announcements": as})
	return nil
}

func (s *Server) deleteService(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.Engine.DeleteService(r.Context(), r.PathValue("hall"), r.PathValue("service")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteCounter(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.Engine.DeleteCounter(r.Context(), r.PathValue("hall"), r.PathValue("counter")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// userUpdateRequest: an absent field stays as it is.
type userUpdateRequest struct {
	Role     *string   `json:"role"`
	HallIDs  *[]string `json:"hall_ids"`
	Password *string   `json:"password"`
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, c *call) error {
	var req userUpdateRequest
	if err := decode(c.body, &req); err != nil {
		return err
	}
	u, err := s.Engine.UpdateUser(r.Context(), c.p, r.PathValue("username"), civiq.UserUpdate(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.Engine.DeleteUser(r.Context(), c.p, r.PathValue("username")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// unlockUser lifts a user's sign-in lock (civiq/login.go).
func (s *Server) unlockUser(w http.ResponseWriter, r *http.Request, c *call) error {
	u, err := s.Engine.UnlockUser(r.Context(), c.p, r.PathValue("username"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
	return nil
}

// listAudit gives the last 200 security events, newest first.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, c *call) error {
	evs, err := s.Engine.AuditEvents(r.Context(), 200)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": evs})
	return nil
}

// pathID reads the path's {id}, a number from 1: anything else is a
// what (device, webhook) not found.
func pathID(r *http.Request, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, civiq.Errorf(civiq.ENotFound, "unknown %s %s", what, r.PathValue("id"))
	}
	return id, nil
}

// withID is a handler for a path naming a what (webhook, 好差评 reporter)
// by its {id}: it reads the id as pathID does and answers 200 {key: what
// do gives}.
func withID[T any](what, key string, do func(r *http.Request, c *call, id int64) (T, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		id, err := pathID(r, what)
		if err != nil {
			return err
		}
		v, err := do(r, c, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{key: v})
		return nil
	}
}

func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "device")
	if err != nil {
		return err
	}
	if err := s.Engine.DeleteDevice(r.Context(), r.PathValue("hall"), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) newDeviceCode(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "device")
	if err != nil {
		return err
	}
	d, err := s.Engine.NewDeviceCode(r.Context(), r.PathValue("hall"), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"device": d})
	return nil
}

package web

import "net/http"

func (s *Site) registerAdmin(mux *http.ServeMux) {}

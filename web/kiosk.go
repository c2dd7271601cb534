package web

import "net/http"

func (s *Site) registerKiosk(mux *http.ServeMux) {}

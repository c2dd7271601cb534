package web

import "net/http"

func (s *Site) registerDisplay(mux *http.ServeMux) {}

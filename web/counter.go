package web

import "net/http"

func (s *Site) registerCounter(mux *http.ServeMux) {}

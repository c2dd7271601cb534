package web

import "net/http"

// registerPages adds the hall's pages; each lives in the file named after it.
func (s *Site) registerPages(mux *http.ServeMux) {
}

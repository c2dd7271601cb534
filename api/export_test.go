package api

// Patterns are the API's routes (behind the authorization middleware or
// plain), as the server itself registered them.
func (s *Server) Patterns() []string { return append([]string(nil), s.patterns...) }

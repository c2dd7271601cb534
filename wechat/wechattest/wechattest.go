// Package wechattest is a WeChat Official Account API stand-in for tests:
// the stable-token endpoint hands out tokens, the template and
// subscription message endpoints take messages sent with the current
// token (40001 otherwise), the web page login exchanges one code for an
// openid; a test revokes the token or makes the messages fail.
package wechattest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// The account the stand-in knows, and what its login answers.
const (
	AppID  = "wx0123456789abcdef"
	Secret = "s3cret-of-the-app"
	Code   = "CODE-OK"
	OpenID = "oLVPpjqs9BhvzwPj5A-vTYAX3GLc"
)

// Sent is a message the stand-in took.
type Sent struct {
	Path string         // the endpoint: template or subscription
	Body map[string]any // as posted
}

// Server is the stand-in.
type Server struct {
	*httptest.Server
	// Delay holds each token answer back (to show one fetch in flight).
	Delay time.Duration
	// ExpiresIn is the expires_in of the tokens handed out (7200).
	ExpiresIn int

	mu      sync.Mutex
	tokens  int
	current string
	sent    []Sent
	tries   int
	answer  func(try int) (code int, msg string)
}

// New starts the stand-in; it stops with Close.
func New() *Server {
	s := &Server{ExpiresIn: 7200}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Tokens is how many tokens were handed out.
func (s *Server) Tokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens
}

// Current is the token valid now.
func (s *Server) Current() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// Revoke makes the current token invalid, as a forced refresh elsewhere
// would.
func (s *Server) Revoke() {
	s.mu.Lock()
	s.current = "revoked-" + strconv.Itoa(s.tokens)
	s.mu.Unlock()
}

// Answer makes the message endpoints answer code and msg instead of
// success (for the try-th message tried, counting from 1), while f gives a
// code other than 0; nil answers success again.
func (s *Server) Answer(f func(try int) (code int, msg string)) {
	s.mu.Lock()
	s.answer = f
	s.mu.Unlock()
}

// Sent lists the messages taken, in order.
func (s *Server) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

type apiError struct {
	Code int    `json:"errcode"`
	Msg  string `json:"errmsg"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	switch r.URL.Path {
	case "/cgi-bin/stable_token":
		var req map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		if r.Method != http.MethodPost || req["grant_type"] != "client_credential" || req["appid"] != AppID || req["force_refresh"] == true {
			reply(apiError{40013, "invalid appid"})
			return
		}
		if req["secret"] != Secret {
			reply(apiError{40125, "invalid appsecret"})
			return
		}
		time.Sleep(s.Delay)
		s.mu.Lock()
		s.tokens++
		s.current = "TOKEN-" + strconv.Itoa(s.tokens)
		tok, exp := s.current, s.ExpiresIn
		s.mu.Unlock()
		reply(map[string]any{"access_token": tok, "expires_in": exp})
	case "/cgi-bin/message/template/send", "/cgi-bin/message/subscribe/bizsend":
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Query().Get("access_token") != s.current {
			reply(apiError{40001, "invalid credential, access_token is invalid or not latest"})
			return
		}
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			reply(apiError{47001, "data format error"})
			return
		}
		s.tries++
		if s.answer != nil {
			if code, msg := s.answer(s.tries); code != 0 {
				reply(apiError{code, msg})
				return
			}
		}
		s.sent = append(s.sent, Sent{Path: r.URL.Path, Body: m})
		reply(map[string]any{"errcode": 0, "errmsg": "ok", "msgid": 200228332 + len(s.sent)})
	case "/sns/oauth2/access_token":
		q := r.URL.Query()
		if q.Get("appid") != AppID || q.Get("secret") != Secret || q.Get("grant_type") != "authorization_code" {
			reply(apiError{40013, "invalid appid"})
			return
		}
		if q.Get("code") != Code {
			reply(apiError{40029, "invalid code"})
			return
		}
		reply(map[string]any{"access_token": "WEB", "expires_in": 7200, "refresh_token": "R", "openid": OpenID, "scope": "snsapi_base"})
	default:
		http.NotFound(w, r)
	}
}

// Package edgelink is an edge node's link to its city (issue 16): the
// client both directions share (one token, one state of the link), the
// sender of the hall's events up to the city (a civiq.Sender for
// subscribers of kind civiq.SubscriberEdge, run by package outbound's
// delivery workers), and the hello that keeps the city told how far
// behind the edge is. The rules are the domain's (civiq's edge.go and
// edgeup.go); this package speaks HTTP.
package edgelink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/civiq/civiq"
)

// Timeout bounds one request to the city; a long poll sets its own.
const Timeout = 15 * time.Second

// MaxAnswer bounds what is read of one answer of the city.
const MaxAnswer = 16 << 20

// Client talks to the city for the edge's hall with its edge token. It
// records whether the last request got an answer (State).
type Client struct {
	City  string // the city's address, without a trailing /
	Hall  string
	Token string
	// EdgeID names this edge's database (civiq.Engine.EdgeSelf): set it
	// before the first request.
	EdgeID    string
	HTTP      *http.Client
	UserAgent string

	mu    sync.Mutex
	state civiq.LinkState
	// said is whether the log last said the link up; told whether it has
	// said either yet.
	said, told bool
}

// New returns a client of cfg's city.
func New(cfg civiq.EdgeConfig) *Client {
	return &Client{City: strings.TrimRight(cfg.CityURL, "/"), Hall: cfg.Hall, Token: cfg.Token,
		HTTP: &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 4,
			IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second}},
		UserAgent: "civiq-edge"}
}

// State returns the link's state now.
func (c *Client) State() civiq.LinkState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Pulled records a change of the city's configuration applied at.
func (c *Client) Pulled(at time.Time) {
	c.mu.Lock()
	c.state.LastPulled = &at
	c.mu.Unlock()
}

// observe records what a request of ctx met (err nil: an answer; a
// refusal of the city is an answer too) and says in the log when the link
// goes down or comes back: an operator learns it there, not only from
// /readyz. A request given up by its caller (ctx done) says nothing.
func (c *Client) observe(ctx context.Context, err error, lastApplied int64) {
	c.mu.Lock()
	var ce *civiq.Error
	if err == nil || (errors.As(err, &ce) && ce.Code != civiq.EUnavailable) {
		now := time.Now()
		c.state.Up, c.state.LastOK = true, &now
		if err == nil {
			c.state.LastError = ""
		} else {
			c.state.LastError = err.Error()
		}
		if lastApplied >= 0 {
			c.state.LastApplied = lastApplied
		}
	} else {
		c.state.Up, c.state.LastError = false, err.Error()
	}
	up := c.state.Up
	say := ctx.Err() == nil && (!c.told || up != c.said)
	if say {
		c.said, c.told = up, true
	}
	c.mu.Unlock()
	switch {
	case !say:
	case up:
		slog.Info("edge link: the city answers", "city", c.City, "hall", c.Hall)
	default:
		slog.Warn("edge link: the city does not answer; the hall goes on alone and sends what it holds once the city answers again",
			"city", c.City, "hall", c.Hall, "err", err)
	}
}

// HallPath is the path of the hall's API on the city with rest after it.
func (c *Client) HallPath(rest string) string {
	return "/api/v1/halls/" + c.Hall + rest
}

// Do sends a request to the city: in, if not nil, as JSON; the answer's
// JSON into out, if not nil. A refusal of the city is its *civiq.Error
// (code and message as it answered); no answer is an unavailable error.
// Every call tells the link's state.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	err := c.do(ctx, method, path, in, out)
	c.observe(ctx, err, -1)
	return err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, c.City+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("User-Agent", c.UserAgent)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return civiq.Errorf(civiq.EUnavailable, "the city does not answer: %v", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxAnswer))
	if err != nil {
		return civiq.Errorf(civiq.EUnavailable, "the city's answer broke off: %v", err)
	}
	if res.StatusCode >= 500 {
		return civiq.Errorf(civiq.EUnavailable, "the city answered %s", res.Status)
	}
	if res.StatusCode >= 300 {
		var eb struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" {
			return civiq.Errorf(civiq.EUnavailable, "the city answered %s", res.Status)
		}
		return civiq.Errorf(eb.Error.Code, "the city: %s", eb.Error.Message)
	}
	if out != nil && res.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("the city's answer: %w", err)
		}
	}
	return nil
}

// Hello tells the city this edge is there and how far behind it is; the
// city answers what it holds of the edge, and the hall's last numbers.
func (c *Client) Hello(ctx context.Context, h *civiq.EdgeHello) (*civiq.EdgeWelcome, error) {
	var w civiq.EdgeWelcome
	if err := c.post(ctx, "/edge/hello", h, &w, &w.LastApplied); err != nil {
		return nil, err
	}
	return &w, nil
}

// Upload posts events to the city; it answers the last of this edge's
// events it holds.
func (c *Client) Upload(ctx context.Context, up *civiq.EdgeUpload) (*civiq.EdgeAck, error) {
	var a civiq.EdgeAck
	if err := c.post(ctx, "/edge/events", up, &a, &a.LastApplied); err != nil {
		return nil, err
	}
	return &a, nil
}

// post is Do for the link's own posts, whose answer (out) tells the last
// of this edge's events the city holds: lastApplied, a field of out, goes
// into the link's state with the answer.
func (c *Client) post(ctx context.Context, rest string, in, out any, lastApplied *int64) error {
	err := c.do(ctx, http.MethodPost, c.HallPath(rest), in, out)
	if err != nil {
		c.observe(ctx, err, -1)
		return err
	}
	c.observe(ctx, nil, *lastApplied)
	return nil
}

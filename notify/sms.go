package notify

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/outbound"
)

// What the SMS channels share: the HTTP client, the bounds of one try, how
// a provider's answer is read, and the parameters' length rule.

// SMSTimeout bounds one try at a provider, all of it.
const SMSTimeout = 10 * time.Second

// maxAnswer is how much of a provider's answer is read.
const maxAnswer = 64 << 10

// maxParamLen reads a hall's own length rule (extra "max_param_len"),
// else the provider's.
func maxParamLen(p *civiq.ProviderSettings, def int) (int, error) {
	v := p.Extra["max_param_len"]
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 500 {
		return 0, errors.New(`extra "max_param_len" is a number from 1 to 500`)
	}
	return n, nil
}

// needs checks that a provider's settings name what it cannot send
// without.
func needs(p *civiq.ProviderSettings, what ...string) error {
	vals := map[string]string{"access_key_id": p.KeyID, "access_key_secret": p.Secret, "sign_name": p.SignName, "app_id": p.AppID}
	for _, w := range what {
		if strings.TrimSpace(vals[w]) == "" {
			return errors.New(p.Provider + " needs " + w)
		}
	}
	return nil
}

// post sends a request and reads a bounded answer; a failure to reach the
// provider, or its 5xx, is worth trying again.
func post(c *http.Client, req *http.Request) (status int, body []byte, fail *civiq.ChannelResult) {
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, &civiq.ChannelResult{Status: civiq.NoticeFailed, Code: "unreachable", Error: outbound.Short(err.Error()), Retry: true}
	}
	defer res.Body.Close()
	body, err = io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return 0, nil, &civiq.ChannelResult{Status: civiq.NoticeFailed, Code: "unreachable", Error: outbound.Short(err.Error()), Retry: true}
	}
	if res.StatusCode >= 500 {
		return res.StatusCode, body, &civiq.ChannelResult{Status: civiq.NoticeFailed, Code: strconv.Itoa(res.StatusCode),
			Error: outbound.Short(res.Status + ": " + string(body)), Retry: true}
	}
	return res.StatusCode, body, nil
}

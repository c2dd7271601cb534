package api

import (
	"net/http"
	"regexp"

	"github.com/civiq/civiq"
	"github.com/civiq/civiq/origin"
)

// Anonymous remote tickets: each client address takes at most
// remotePerAddressPerHour of a hall's in an hour (429), and each phone
// carries a cookie that names it, so that the hall's remote_per_phone
// bounds the waiting tickets one phone holds in a service (409
// ticket_held, civiq's IssueTicket).
const (
	remotePerAddressPerHour = 30
	phoneCookie             = "civiq_phone"
	phoneCookieMaxAge       = 400 * 24 * 60 * 60 // what browsers keep at most
)

var phoneCookiePattern = regexp.MustCompile(`^[a-z2-7]{32}$`)

// remoteHolder counts a remote ticket against the client's address and
// returns the key of the phone taking it, giving the phone its cookie
// when it has none.
func remoteHolder(lim *rateLimiter, w http.ResponseWriter, r *http.Request, hallID string) (string, error) {
	if ok, wait := lim.take("remote "+hallID+" "+civiq.AddrKey(clientIP(r)), remotePerAddressPerHour); !ok {
		return "", rateLimited(w, wait, "for remote tickets from this address")
	}
	id := ""
	if ck, err := r.Cookie(phoneCookie); err == nil && phoneCookiePattern.MatchString(ck.Value) {
		id = ck.Value
	} else {
		id = civiq.NewToken()
		http.SetCookie(w, &http.Cookie{Name: phoneCookie, Value: id, Path: "/", MaxAge: phoneCookieMaxAge,
			HttpOnly: true, Secure: origin.HTTPS(r), SameSite: http.SameSiteLaxMode})
	}
	return hashKey("phone " + id), nil
}

package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

const (
	tokenCookie = "naq_dashboard_token"
	csrfCookie  = "naq_dashboard_csrf"
)

// authenticate lets through requests that carry the configured credentials;
// with none configured, every request.
func (h *Handler) authenticate(next http.Handler) http.Handler {
	switch {
	case h.cfg.user != "":
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || !equal(u, h.cfg.user) || !equal(p, h.cfg.password) {
				w.Header().Set("WWW-Authenticate", `Basic realm="naq dashboard", charset="UTF-8"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	case h.cfg.token != "":
		return http.HandlerFunc(h.tokenAuth(next))
	}
	return next
}

func (h *Handler) tokenAuth(next http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && equal(bearer, h.cfg.token) {
			next.ServeHTTP(w, r)
			return
		}
		if c, err := r.Cookie(tokenCookie); err == nil && equal(c.Value, h.cfg.token) {
			next.ServeHTTP(w, r)
			return
		}
		// A browser opens the dashboard once with ?token=...: the token moves
		// into a cookie and out of the address bar (and of later Referers).
		// The cookie is SameSite=Lax, so a link from an alert opens the page;
		// POSTs need the CSRF token besides.
		if q := r.URL.Query(); r.Method == http.MethodGet && equal(q.Get("token"), h.cfg.token) {
			http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: h.cfg.token, Path: h.cookiePath(),
				HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
			q.Del("token")
			u := *r.URL
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.String(), http.StatusSeeOther)
			return
		}
		http.Error(w, "authentication required: open the dashboard with ?token=<token>, or send Authorization: Bearer <token>", http.StatusUnauthorized)
	}
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (h *Handler) cookiePath() string {
	if h.cfg.prefix == "" {
		return "/"
	}
	return h.cfg.prefix + "/"
}

// csrfToken returns the token forms carry: a keyed hash of the browser's
// CSRF cookie, set here when missing. A forged form from another site knows
// neither the cookie nor the key.
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) string {
	v := ""
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		v = c.Value
	} else {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		v = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, Path: h.cookiePath(),
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	}
	return h.sign(v)
}

func (h *Handler) sign(v string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkPost refuses a POST in read-only mode or without a valid CSRF token.
func (h *Handler) checkPost(w http.ResponseWriter, r *http.Request) bool {
	if h.cfg.readOnly {
		http.Error(w, "the dashboard is read-only", http.StatusForbidden)
		return false
	}
	c, err := r.Cookie(csrfCookie)
	if err != nil || !hmac.Equal([]byte(h.sign(c.Value)), []byte(r.PostFormValue("csrf"))) {
		http.Error(w, "invalid or missing CSRF token: reload the page and try again", http.StatusForbidden)
		return false
	}
	return true
}

// flash is a one-line message shown on the next page, in a cookie so that
// no link can put words on a page.
func (h *Handler) setFlash(w http.ResponseWriter, msg string) {
	http.SetCookie(w, &http.Cookie{Name: "naq_dashboard_flash", Value: url.QueryEscape(msg), Path: h.cookiePath(),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 60})
}

func (h *Handler) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie("naq_dashboard_flash")
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: "naq_dashboard_flash", Path: h.cookiePath(), MaxAge: -1})
	msg, _ := url.QueryUnescape(c.Value)
	return msg
}

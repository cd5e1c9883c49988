// Package redact hides credentials in URLs before they are logged, returned
// in an error or stored in a job's record.
package redact

import (
	"net/url"
	"strings"
)

// Mask replaces a secret.
const Mask = "xxxxx"

// URL returns u with its credentials masked: the password of user:password,
// or the whole user part when it stands alone (a NATS token, nats://token@host).
// A comma-separated list is redacted URL by URL. Text that does not parse as a
// URL but holds an '@' is masked up to it, since it may still carry a secret.
func URL(u string) string {
	if strings.Contains(u, ",") {
		parts := strings.Split(u, ",")
		for i, p := range parts {
			parts[i] = URL(p)
		}
		return strings.Join(parts, ",")
	}
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil {
		return maskRaw(u)
	}
	if p.User == nil {
		return u
	}
	if _, ok := p.User.Password(); ok {
		p.User = url.UserPassword(p.User.Username(), Mask)
	} else {
		p.User = url.User(Mask)
	}
	return p.String()
}

// maskRaw masks everything between "://" and the last '@' of the authority.
func maskRaw(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		scheme, rest = "", u
	} else {
		scheme += "://"
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return u
	}
	return scheme + Mask + rest[at:]
}

// Text replaces every occurrence of the secrets in s with Mask; empty secrets
// are ignored.
func Text(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, Mask)
		}
	}
	return s
}

package dashboard

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/naqgo/naq"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

func staticFiles() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	return http.FileServerFS(sub)
}

// pages holds one template set per page, each with the shared layout.
type pages struct{ byName map[string]*template.Template }

var pageNames = []string{"overview", "queue", "job", "failed", "failed_detail", "schedules", "workers", "workflow", "confirm", "error"}

func parsePages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range pageNames {
		t, err := template.New(n).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard: template %s: %w", n, err)
		}
		p.byName[n] = t
	}
	return p, nil
}

// page is what every template gets: the page's own data in Data.
type page struct {
	Title    string
	Nav      string
	Prefix   string
	CSRF     string
	ReadOnly bool
	Flash    string
	Now      time.Time
	Data     any
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	h.renderStatus(w, r, http.StatusOK, name, title, data)
}

func (h *Handler) renderStatus(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	pg := page{Title: title, Nav: name, Prefix: h.cfg.prefix, ReadOnly: h.cfg.readOnly, Now: time.Now(), Data: data}
	if !h.cfg.readOnly {
		pg.CSRF = h.csrfToken(w, r)
	}
	if r.Header.Get("X-Naq-Live") == "" {
		pg.Flash = h.takeFlash(w, r)
	}
	var buf bytes.Buffer
	if err := h.pages.byName[name].ExecuteTemplate(&buf, "layout", pg); err != nil {
		h.cfg.log.Error("dashboard: render", "page", name, "err", err)
		http.Error(w, "the page could not be rendered: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// fail shows an error page with the error's text (escaped like all text).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	h.renderStatus(w, r, status, "error", "Error", map[string]any{"Status": status, "Error": err.Error()})
}

// back redirects to the page the action was taken on, with a message.
func (h *Handler) back(w http.ResponseWriter, r *http.Request, to, msg string) {
	h.setFlash(w, msg)
	http.Redirect(w, r, h.cfg.prefix+to, http.StatusSeeOther)
}

var funcs = template.FuncMap{
	"ago":     ago,
	"dur":     fmtDur,
	"ts":      fmtAnyTime,
	"deref":   deref,
	"args":    argsLine,
	"trunc":   trunc,
	"pretty":  prettyJSON,
	"rawtext": rawText,
	"esc":     url.PathEscape,
	"qs":      func(kv ...string) string { return query(kv...) },
	"bytes":   fmtBytes,
	"add":     func(a, b int) int { return a + b },
	"percent": func(f float64) string { return strconv.FormatFloat(f*100, 'f', -1, 64) + "%" },
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func fmtAnyTime(v any) string {
	if t, ok := v.(time.Time); ok {
		return fmtTime(t)
	}
	return "-"
}

// deref reads the value behind a pointer ("" for nil).
func deref(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer {
		return v
	}
	if rv.IsNil() {
		return ""
	}
	return rv.Elem().Interface()
}

// argsLine is a job's arguments on one line, cut to a table cell's length.
func argsLine(j *naq.Job) string {
	var sb strings.Builder
	for i, a := range j.Args {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(plainJSON(a, ""))
	}
	keys := make([]string, 0, len(j.Kwargs))
	for k := range j.Kwargs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if sb.Len() > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(k + "=" + plainJSON(j.Kwargs[k], ""))
	}
	return trunc(sb.String(), 120)
}

func trunc(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t)
	if d < 0 {
		return "in " + fmtDur(-d)
	}
	return fmtDur(d) + " ago"
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < 48*time.Hour:
		return d.Round(time.Second).String()
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

func fmtBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// prettyJSON indents JSON for a <pre>, with "<", ">" and "&" as themselves
// rather than \u003c escapes (the template escapes them for the page);
// anything that is not JSON comes back as it is.
func prettyJSON(raw []byte) string { return plainJSON(raw, "  ") }

func plainJSON(raw []byte, indent string) string {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return string(raw)
	}
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	e.SetIndent("", indent)
	if e.Encode(v) != nil {
		return string(raw)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// rawText shows bytes that may not be text: as text when they are valid
// UTF-8, else as a hex dump. Either way the template escapes it.
func rawText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for i := 0; i < len(b); i += 16 {
		end := min(i+16, len(b))
		fmt.Fprintf(&sb, "%08x  % x\n", i, b[i:end])
	}
	return sb.String()
}

// query builds "?k=v&..." from pairs, leaving out empty values.
func query(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

package consoleproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/scaleout/scaleout/internal/api/webui"
)

// Signer adds credentials to a request for the API (client.SigV4 signs).
type Signer interface {
	Sign(ctx context.Context, req *http.Request, body []byte) error
}

// Options configure a proxy.
type Options struct {
	// API is the API's base URL (the part before /v1/).
	API string
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token string
	// Signer, when set, signs each request instead (SigV4).
	Signer Signer
	// Listen is the address the proxy listens on (host:port); requests
	// must name it as their Host.
	Listen string
	// Transport sends the requests (default http.DefaultTransport).
	Transport http.RoundTripper
	Logger    *slog.Logger
}

// MaxBodyBytes bounds a request body the proxy forwards (the API's own).
const MaxBodyBytes = 1 << 20

// New returns the proxy's handler. It fails on a missing API URL, no
// credentials, or a listen address that is not on loopback.
func New(o Options) (http.Handler, error) {
	target, err := url.Parse(o.API)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		return nil, fmt.Errorf("API URL %q: give the API's base URL, such as https://abc123.execute-api.us-east-1.amazonaws.com", o.API)
	}
	if (o.Token == "") == (o.Signer == nil) {
		return nil, errors.New("give a token or a signer (SigV4), one of them")
	}
	host, _, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", o.Listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("listen address %q: the proxy carries your credentials, so it listens on loopback only (127.0.0.1, ::1 or localhost)", o.Listen)
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	p := &proxy{o: o, console: http.StripPrefix("/ui", webui.Handler())}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
			r.Out.Header.Del("Authorization")
			r.Out.Header.Del("Cookie")
			r.Out.Header.Del("Origin")
			r.Out.Header.Del("Referer")
		},
		Transport: authTransport{o: o},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			o.Logger.WarnContext(r.Context(), "console proxy: the API did not answer", "path", r.URL.Path, "error", err)
			writeError(w, http.StatusBadGateway, "bad_gateway", "the API at "+o.API+" did not answer: "+err.Error())
		},
	}
	return p, nil
}

type proxy struct {
	o       Options
	console http.Handler
	rp      *httputil.ReverseProxy
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.sameHost(r.Host) {
		writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("host %q: this proxy answers requests to %s only", r.Host, p.o.Listen))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if origin := r.Header.Get("Origin"); origin != "" && !p.sameOrigin(origin) {
			writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("origin %q: this proxy takes changes from its own page only", origin))
			return
		}
	}
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/v1/"):
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		p.rp.ServeHTTP(w, r)
	case strings.HasPrefix(path, "/ui/"):
		p.console.ServeHTTP(w, r)
	case path == "/" || path == "/ui":
		http.Redirect(w, r, "/ui/", http.StatusFound)
	default:
		writeError(w, http.StatusNotFound, "not_found", "no route "+r.Method+" "+path+": the console is at /ui/, the API at /v1/")
	}
}

// sameHost reports whether a request's Host names the listen address
// (localhost and 127.0.0.1 are the same here).
func (p *proxy) sameHost(h string) bool {
	want, wantPort, _ := net.SplitHostPort(p.o.Listen)
	got, gotPort, err := net.SplitHostPort(h)
	if err != nil || gotPort != wantPort {
		return false
	}
	loop := func(s string) bool { ip := net.ParseIP(s); return s == "localhost" || ip != nil && ip.IsLoopback() }
	return got == want || loop(got) && loop(want)
}

func (p *proxy) sameOrigin(origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Scheme == "http" && p.sameHost(u.Host)
}

// authTransport adds the credentials to each request to the API.
type authTransport struct{ o Options }

func (t authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+t.o.Token)
		return t.o.Transport.RoundTrip(req)
	}
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.ContentLength = int64(len(b))
	}
	if err := t.o.Signer.Sign(req.Context(), req, body); err != nil {
		return nil, fmt.Errorf("sign the request: %w", err)
	}
	return t.o.Transport.RoundTrip(req)
}

// writeError answers in the API's error shape.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

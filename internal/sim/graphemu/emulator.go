package graphemu

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/internal/sim/testca"
)

// Config configures an emulator. The zero value serves DefaultState.
type Config struct {
	// State seeds the tenant (default DefaultState()).
	State *State
	// StatePath, when set, loads the state from this file and saves it there
	// after every request that changed it (before answering) and at Close;
	// the CA, TLS certificate and token key are kept beside it
	// (STATE.identity.pem), so a restarted emulator is the same server.
	StatePath string
	// TenantPath, when set (and no state file exists yet), seeds the tenant
	// from a tenant file in Graph's response shapes (LoadTenant).
	TenantPath string
	// ChallengeTimeout is the v1.0 creationOptions challenge lifetime
	// (default 5 minutes, as Entra's).
	ChallengeTimeout time.Duration
	// Verifier judges attestations (default: the embedded policy with the
	// simkey TEST root trusted, since this is a rehearsal tenant).
	Verifier *attest.Verifier
	// Now is the emulator's clock (default time.Now).
	Now func() time.Time
}

// FaultKind is a misbehaviour to inject.
type FaultKind int

// Fault kinds.
const (
	// FaultThrottle answers 429 with Retry-After, before processing.
	FaultThrottle FaultKind = iota + 1
	// FaultUnavailable answers 503 with Retry-After, before processing.
	FaultUnavailable
	// FaultSlow delays the answer by Delay, then processes normally.
	FaultSlow
	// FaultDropAfterCommit processes the request (a write commits), then
	// drops the connection without answering.
	FaultDropAfterCommit
)

// Fault is one injected misbehaviour, for the next Count matching requests.
type Fault struct {
	Method     string // "GET", "POST", "DELETE"; empty matches any
	Path       string // substring of the URL path; empty matches any
	Kind       FaultKind
	RetryAfter time.Duration // for throttling and 503
	Delay      time.Duration // for FaultSlow
	Count      int           // default 1
}

// Request is one request the emulator saw (for assertions: which calls, in
// what order, reads only?).
type Request struct {
	Method string
	Path   string
	Query  string
	Status int
}

// Emulator is a running local Graph.
type Emulator struct {
	cfg Config

	mu     sync.Mutex
	st     *State
	saveMu sync.Mutex // one state write at a time
	saved  []byte     // the state as last written to StatePath
	faults []*Fault
	log    []Request

	tokenKey *ecdsa.PrivateKey
	ca       *x509.Certificate
	caPEM    []byte
	tlsCert  tls.Certificate
	srv      *http.Server
	url      string
}

// New makes an emulator (not yet listening).
func New(cfg Config) (*Emulator, error) {
	if cfg.ChallengeTimeout == 0 {
		cfg.ChallengeTimeout = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Verifier == nil {
		pol, err := attest.LoadPolicy("")
		if err != nil {
			return nil, err
		}
		root, err := testca.Root()
		if err != nil {
			return nil, err
		}
		cfg.Verifier = &attest.Verifier{Policy: pol, Rehearsal: true, Now: cfg.Now, RehearsalRoots: []*x509.Certificate{root},
			RehearsalModel: &attest.AllowedModel{AAGUID: testca.AAGUIDString(), Name: testca.ModelName}}
	}
	e := &Emulator{cfg: cfg, st: cfg.State}
	if cfg.StatePath != "" {
		if b, err := os.ReadFile(cfg.StatePath); err == nil {
			var st State
			if err := json.Unmarshal(b, &st); err != nil {
				return nil, fmt.Errorf("emulator state %s: %w", cfg.StatePath, err)
			}
			e.st = &st
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	if e.st == nil && cfg.TenantPath != "" {
		b, err := os.ReadFile(cfg.TenantPath)
		if err != nil {
			return nil, fmt.Errorf("tenant file: %w", err)
		}
		if e.st, err = LoadTenant(b); err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.TenantPath, err)
		}
	}
	if e.st == nil {
		e.st = DefaultState()
	}
	if e.st.Challenges == nil {
		e.st.Challenges = map[string]*challenge{}
	}
	if e.st.Methods == nil {
		e.st.Methods = map[string][]*Method{}
	}
	id, err := loadOrMakeIdentity(cfg.StatePath)
	if err != nil {
		return nil, err
	}
	if err := e.useIdentity(id); err != nil {
		return nil, err
	}
	if err := e.persist(); err != nil {
		return nil, err
	}
	return e, nil
}

// Start listens on addr (e.g. 127.0.0.1:0) and serves until Close.
func (e *Emulator) Start(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("the emulator listens on loopback only, not %s", host)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// HTTP/1.1 only: FaultDropAfterCommit hijacks the connection.
	tl := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{e.tlsCert}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12})
	e.srv = &http.Server{Handler: http.HandlerFunc(e.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	e.url = "https://" + ln.Addr().String()
	go func() { _ = e.srv.Serve(tl) }()
	return nil
}

// URL is the emulator's base URL, e.g. https://127.0.0.1:41234.
func (e *Emulator) URL() string { return e.url }

// CAPEM returns the emulator's CA certificate (PEM), for clients to trust.
func (e *Emulator) CAPEM() []byte { return append([]byte(nil), e.caPEM...) }

// HTTPClient returns an HTTP client that trusts the emulator's CA only.
func (e *Emulator) HTTPClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(e.ca)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// Close stops serving and saves the state when a state file is configured.
func (e *Emulator) Close() error {
	var err error
	if e.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = e.srv.Shutdown(ctx)
	}
	if serr := e.persist(); err == nil {
		err = serr
	}
	return err
}

// Inject queues a fault.
func (e *Emulator) Inject(f Fault) {
	if f.Count == 0 {
		f.Count = 1
	}
	e.mu.Lock()
	e.faults = append(e.faults, &f)
	e.mu.Unlock()
}

// PendingFaults is the number of injected faults not yet triggered.
func (e *Emulator) PendingFaults() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.faults)
}

// Requests returns the requests seen so far.
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Request(nil), e.log...)
}

// Update changes the tenant state under the emulator's lock (seeding), and
// keeps it in the state file when there is one (an error there is the
// emulator's to report at the next request or Close).
func (e *Emulator) Update(f func(*State)) {
	e.mu.Lock()
	f(e.st)
	e.mu.Unlock()
	_ = e.persist()
}

// Snapshot returns a deep copy of the tenant state.
func (e *Emulator) Snapshot() *State {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, _ := json.Marshal(e.st)
	var st State
	_ = json.Unmarshal(b, &st)
	return &st
}

// takeFault finds the first fault matching the request.
func (e *Emulator) takeFault(r *http.Request) *Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, f := range e.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.Contains(r.URL.Path, f.Path) {
			f.Count--
			if f.Count <= 0 {
				e.faults = append(e.faults[:i], e.faults[i+1:]...)
			}
			c := *f
			return &c
		}
	}
	return nil
}

// recorder keeps a response so that a fault can drop it.
type recorder struct {
	header http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body = append(r.body, b...)
	return len(b), nil
}
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (e *Emulator) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{header: http.Header{}}
	f := e.takeFault(r)
	switch {
	case f != nil && (f.Kind == FaultThrottle || f.Kind == FaultUnavailable):
		code, gcode := http.StatusTooManyRequests, "TooManyRequests"
		if f.Kind == FaultUnavailable {
			code, gcode = http.StatusServiceUnavailable, "serviceNotAvailable"
		}
		rec.header.Set("Retry-After", fmt.Sprint(int(f.RetryAfter.Seconds())))
		graphError(rec, code, gcode, "Injected fault: try again later.")
	default:
		if f != nil && f.Kind == FaultSlow {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return
			}
		}
		e.route(rec, r)
		if err := e.persist(); err != nil {
			// Not kept: the write must not be acknowledged.
			rec = &recorder{header: http.Header{}}
			graphError(rec, http.StatusInternalServerError, "generalException", "The emulator could not keep its state: "+err.Error())
		}
	}
	e.mu.Lock()
	e.log = append(e.log, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: rec.status})
	e.mu.Unlock()
	if f != nil && f.Kind == FaultDropAfterCommit {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body)
}

// graphError writes Graph's error shape.
func graphError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": message,
		"innerError": map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "request-id": newID(), "client-request-id": newID()},
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	if ow, ok := w.(*odataWriter); ok && status < 300 {
		if m, ok := v.(map[string]any); ok && m["@odata.context"] == nil {
			m["@odata.context"] = ow.context
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// newID makes a GUID-shaped random identifier.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

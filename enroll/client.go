package enroll

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	abs "github.com/microsoft/kiota-abstractions-go"
	azauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraph "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// DefaultRoot is Microsoft Graph's global endpoint.
const DefaultRoot = "https://graph.microsoft.com"

// Options tune a Client. The zero value talks to the real Graph.
type Options struct {
	// Root is the Graph endpoint without version (default DefaultRoot).
	Root string
	// HTTPClient's transport carries the requests (e.g. trusting the
	// emulator's CA); its middleware is added here.
	HTTPClient *http.Client
	// RetryDelay is the back-off base for throttled and failed reads when
	// the service gives no Retry-After (default 3 s).
	RetryDelay time.Duration
	// MaxAttempts bounds attempts of one operation (default 5).
	MaxAttempts int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MaxPages bounds the pages of one collection read (default 500): past
	// it the read is an error, never a partial answer.
	MaxPages int
}

// Client talks to Graph for one signed-in principal.
type Client struct {
	// Credential is the sign-in, for the other Microsoft APIs the same
	// officer reads (monitoring's Azure Resource Manager).
	Credential azcore.TokenCredential

	graph   *msgraph.GraphServiceClient
	adapter abs.RequestAdapter
	root    string
	opts    Options
}

// New returns a Client using cred for tokens.
func New(cred azcore.TokenCredential, opts Options) (*Client, error) {
	if opts.Root == "" {
		opts.Root = DefaultRoot
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = 3 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = defaultMaxPages
	}
	u, err := url.Parse(opts.Root)
	if err != nil || u.Scheme != "https" {
		return nil, fmt.Errorf("graph root %q must be an https URL", opts.Root)
	}
	auth, err := azauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(
		cred,
		[]string{scopeFor(opts.Root)},
		[]string{u.Hostname()},
	)
	if err != nil {
		return nil, err
	}
	// The SDK's middleware, with a retry handler that honours Retry-After
	// on 429, 503 and 504 for reads (writes opt out per request).
	kiota, err := khttp.GetDefaultMiddlewaresWithOptions(&khttp.RetryHandlerOptions{
		MaxRetries: opts.MaxAttempts - 1, DelaySeconds: max(1, int(opts.RetryDelay.Seconds())),
		ShouldRetry: func(time.Duration, int, *http.Request, *http.Response) bool { return true },
	})
	if err != nil {
		return nil, err
	}
	gopts := &msgraphcore.GraphClientOptions{GraphServiceVersion: "v1.0", GraphServiceLibraryVersion: "keyceremony"}
	mw := append(
		[]khttp.Middleware{
			msgraphcore.NewGraphTelemetryHandler(gopts),
			khttp.NewUrlReplaceHandler(true, msgraphcore.ReplacementPairs),
		},
		kiota...)
	var base http.RoundTripper = http.DefaultTransport
	if opts.HTTPClient != nil && opts.HTTPClient.Transport != nil {
		base = opts.HTTPClient.Transport
	}
	httpClient := &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(base, mw...),
		Timeout:   60 * time.Second,
	}
	adapter, err := msgraph.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth,
		nil,
		nil,
		httpClient,
	)
	if err != nil {
		return nil, err
	}
	root := strings.TrimRight(opts.Root, "/")
	adapter.SetBaseUrl(root + "/v1.0")
	return &Client{
		Credential: cred,
		graph:      msgraph.NewGraphServiceClient(adapter),
		adapter:    adapter,
		root:       root,
		opts:       opts,
	}, nil
}

// errorMapping maps every error status to Graph's OData error.
func errorMapping() abs.ErrorMappings {
	return abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}
}

// GraphError is a Graph error answer, readable.
type GraphError struct {
	Status  int
	Code    string
	Message string
	// RetryAfter is the Retry-After the service asked for, if any.
	RetryAfter time.Duration
}

// Error implements error.
func (e *GraphError) Error() string {
	return fmt.Sprintf("Graph answered %d %s: %s", e.Status, e.Code, e.Message)
}

// asGraphError extracts Graph's error from an SDK error.
func asGraphError(err error) (*GraphError, bool) {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		ge := &GraphError{Status: oe.ResponseStatusCode}
		if main := oe.GetErrorEscaped(); main != nil {
			if c := main.GetCode(); c != nil {
				ge.Code = *c
			}
			if m := main.GetMessage(); m != nil {
				ge.Message = *m
			}
		}
		if h := oe.ResponseHeaders; h != nil {
			if v := h.Get("Retry-After"); len(v) > 0 {
				var secs int
				if _, err := fmt.Sscan(v[0], &secs); err == nil {
					ge.RetryAfter = time.Duration(secs) * time.Second
				}
			}
		}
		return ge, true
	}
	var ae *abs.ApiError
	if errors.As(err, &ae) {
		return &GraphError{Status: ae.ResponseStatusCode, Message: ae.Message}, true
	}
	return nil, false
}

// describe turns an SDK error into a readable one.
func describe(err error) error {
	if ge, ok := asGraphError(err); ok {
		return ge
	}
	return err
}

// ambiguous reports whether a failed request may or may not have reached
// and changed the service: a 5xx, a timeout, a dropped connection.
func ambiguous(err error) bool {
	if ge, ok := asGraphError(err); ok {
		return ge.Status >= 500
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "EOF") ||
		strings.Contains(err.Error(), "connection reset")
}

// retryRead runs an idempotent read, retrying network failures and 5xx
// (the SDK's retry handler already honoured Retry-After for 429/503/504).
func (c *Client) retryRead(ctx context.Context, what string, op func() error) error {
	var err error
	for attempt := 1; ; attempt++ {
		if err = op(); err == nil {
			return nil
		}
		if !ambiguous(err) || attempt >= c.opts.MaxAttempts {
			return fmt.Errorf("%s: %w", what, describe(err))
		}
		if werr := sleep(ctx, c.opts.RetryDelay*time.Duration(attempt)); werr != nil {
			return fmt.Errorf("%s: %w", what, werr)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// User is the break-glass account as the ceremony and the audit need it.
type User struct {
	ID                    string `json:"id"`
	UPN                   string `json:"upn"`
	DisplayName           string `json:"display_name"`
	OnPremisesSyncEnabled *bool  `json:"on_premises_sync_enabled"`
	PasswordPolicies      string `json:"password_policies"`
	AccountEnabled        *bool  `json:"account_enabled,omitempty"` // nil: not returned
	// OnPremisesImmutableID is set when the account is (or was) tied to an
	// on-premises identity; cloud-only means empty (ScubaGear MS.AAD.7.3).
	OnPremisesImmutableID string `json:"on_premises_immutable_id,omitempty"`
}

// GetUser looks the account up by UPN or object ID.
func (c *Client) GetUser(ctx context.Context, upnOrID string) (*User, error) {
	var u models.Userable
	err := c.retryRead(ctx, "look up "+upnOrID, func() error {
		var err error
		u, err = c.graph.Users().ByUserId(upnOrID).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{
				Select: []string{
					"id",
					"userPrincipalName",
					"displayName",
					"onPremisesSyncEnabled",
					"passwordPolicies",
					"accountEnabled",
					"onPremisesImmutableId",
				},
			},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &User{ID: deref(u.GetId()), UPN: deref(u.GetUserPrincipalName()), DisplayName: deref(u.GetDisplayName()),
		OnPremisesSyncEnabled: u.GetOnPremisesSyncEnabled(), PasswordPolicies: deref(u.GetPasswordPolicies()),
		AccountEnabled:        u.GetAccountEnabled(),
		OnPremisesImmutableID: deref(u.GetOnPremisesImmutableId())}, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

package notify

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/wait"
)

// MaxURLLength is the longest callback URL accepted.
const MaxURLLength = 2048

// ValidateURL checks a callback URL as a submission gives it: an absolute
// http or https URL with a host, at most MaxURLLength characters.
func ValidateURL(s string) error {
	if len(s) > MaxURLLength {
		return fmt.Errorf("callback_url: %d characters, at most %d", len(s), MaxURLLength)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("callback_url: not a URL (%v): give an absolute http or https URL such as https://scheduler.example.com/hooks/scaleout", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("callback_url: scheme %q: give an absolute http or https URL such as https://scheduler.example.com/hooks/scaleout", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("callback_url: no host: give an absolute http or https URL such as https://scheduler.example.com/hooks/scaleout")
	}
	return nil
}

// Event is an execution that reached a final status.
// It is also the body of a webhook queue message (JSON).
type Event struct {
	ExecutionID string           `json:"execution_id"`
	Folder      string           `json:"folder,omitempty"`
	Project     string           `json:"project,omitempty"`
	Package     string           `json:"package"`
	Pool        string           `json:"pool,omitempty"`
	Status      execution.Status `json:"status"`
	Attempt     int              `json:"attempt"`
	Error       string           `json:"error,omitempty"`
	StartedAt   time.Time        `json:"started_at,omitzero"` // zero when it never started
	EndedAt     time.Time        `json:"ended_at"`
	// CallbackURL is where the webhook goes ("" : no webhook).
	CallbackURL string `json:"callback_url,omitempty"`
}

// Payload is the JSON body of a webhook request.
type Payload struct {
	ExecutionID string           `json:"execution_id"`
	Folder      string           `json:"folder"`
	Project     string           `json:"project"`
	Package     string           `json:"package"`
	Status      execution.Status `json:"status"`
	Attempt     int              `json:"attempt"`
	Error       string           `json:"error"`
	EndedAt     time.Time        `json:"ended_at"`
	// DeliveryID is the same on every send for the execution (also in
	// X-Scaleout-Delivery): receivers deduplicate by it.
	DeliveryID string `json:"delivery_id"`
	// Redelivery is true on a send that may repeat an earlier one.
	Redelivery bool `json:"redelivery"`
}

// deliveryNS derives delivery ids from execution ids.
var deliveryNS = uuid.NewHash(sha1.New(), uuid.NameSpaceURL, []byte("https://scaleout.dev/webhook-delivery"), 5)

// DeliveryID is the stable delivery id of an execution's webhook.
func DeliveryID(executionID string) string {
	return uuid.NewSHA1(deliveryNS, []byte(executionID)).String()
}

// Claim is what recording a delivery found.
type Claim int

// Claims.
const (
	// First: this attempt created the record; it sends a first delivery.
	First Claim = iota
	// Redeliver: a record not marked delivered was there; send again, marked.
	Redeliver
	// Delivered: the webhook was delivered already; send nothing.
	Delivered
)

// Deliveries records webhook deliveries (DynamoStore on the catalog table).
type Deliveries interface {
	// Claim records that executionID's webhook is about to be sent.
	Claim(ctx context.Context, executionID string, now time.Time) (Claim, error)
	// MarkDelivered records that the receiver accepted it.
	MarkDelivered(ctx context.Context, executionID string, now time.Time) error
	// MarkFailed records the last failure (the record stays undelivered).
	MarkFailed(ctx context.Context, executionID, reason string, now time.Time) error
}

// Config configures a Notifier.
type Config struct {
	// Secret signs every request (SCALEOUT_WEBHOOK_SECRET), or
	// SecretSource gives it anew for each webhook (a CachedSecret reading
	// Secrets Manager: a rotation is picked up without a restart); one is
	// required, SecretSource wins.
	Secret       []byte
	SecretSource SecretSource
	Deliveries   Deliveries
	// Client sends the requests (default NewClient(AllowPrivate)).
	Client *http.Client
	// AllowPrivate lets webhooks reach loopback and private addresses
	// (SCALEOUT_WEBHOOK_ALLOW_PRIVATE; `scaleout dev` sets it). Off, a
	// callback URL that resolves to one is refused.
	AllowPrivate bool
	// Tries is how many times a send is tried (default 5); Backoff is the
	// wait before the second try, doubling after (default 200ms); Timeout
	// bounds each request (default 5s).
	Tries   int
	Backoff time.Duration
	Timeout time.Duration
	Logger  *slog.Logger
	Now     func() time.Time
}

// Notifier sends the webhooks.
type Notifier struct{ c Config }

// MinSecretLength is the shortest webhook secret accepted.
const MinSecretLength = 16

// New returns a notifier; it fails without a secret or a delivery store.
func New(c Config) (*Notifier, error) {
	var errs []error
	if c.SecretSource == nil && len(c.Secret) < MinSecretLength {
		errs = append(errs, fmt.Errorf("notify: webhook secret of %d bytes: give at least %d (SCALEOUT_WEBHOOK_SECRET, e.g. from `openssl rand -hex 32`)", len(c.Secret), MinSecretLength))
	}
	if c.Deliveries == nil {
		errs = append(errs, errors.New("notify: no delivery store"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if c.SecretSource == nil {
		c.SecretSource = staticSecret(c.Secret)
	}
	c.Secret = nil
	if c.Client == nil {
		c.Client = NewClient(c.AllowPrivate)
	}
	if c.Tries <= 0 {
		c.Tries = 5
	}
	if c.Backoff <= 0 {
		c.Backoff = 200 * time.Millisecond
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Notifier{c: c}, nil
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	switch {
	case len(via) >= 5:
		return permanent(errors.New("stopped after 5 redirects"))
	case req.URL.Scheme != "http" && req.URL.Scheme != "https":
		return permanent(fmt.Errorf("redirect to scheme %q refused: only http and https", req.URL.Scheme))
	case req.URL.Host != via[0].URL.Host:
		return permanent(fmt.Errorf("redirect from host %q to host %q refused: webhooks follow redirects on the same host only", via[0].URL.Host, req.URL.Host))
	}
	return nil
}

// permanentError is a send failure that trying again does not fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return permanentError{err} }

// Permanent reports whether err, from Notify, is a failure that sending
// again does not fix (the receiver answered a 4xx other than 408 and 429,
// the target is refused, the URL is not one): the webhook sender then
// drops the delivery instead of trying it again.
func Permanent(err error) bool {
	var pe permanentError
	return errors.As(err, &pe)
}

// Notify sends ev's webhook unless it has no callback URL or was delivered
// already (see the package documentation for the rules). An error means
// the webhook was not delivered; the caller logs it and goes on.
func (n *Notifier) Notify(ctx context.Context, ev Event) error {
	if ev.CallbackURL == "" {
		return nil
	}
	log := n.c.Logger.With("execution_id", ev.ExecutionID)
	claim, err := n.c.Deliveries.Claim(ctx, ev.ExecutionID, n.c.Now())
	if err != nil {
		return fmt.Errorf("webhook of execution %s: record the delivery: %w", ev.ExecutionID, err)
	}
	if claim == Delivered {
		log.DebugContext(ctx, "webhook delivered already")
		return nil
	}
	p := Payload{
		ExecutionID: ev.ExecutionID, Folder: ev.Folder, Project: ev.Project, Package: ev.Package,
		Status: ev.Status, Attempt: ev.Attempt, Error: ev.Error, EndedAt: ev.EndedAt.UTC(),
		DeliveryID: DeliveryID(ev.ExecutionID), Redelivery: claim == Redeliver,
	}
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("webhook of execution %s: encode: %w", ev.ExecutionID, err)
	}
	host := ""
	if u, err := url.Parse(ev.CallbackURL); err == nil {
		host = u.Host // never the path or query: they may hold a token
	}
	secret, err := n.c.SecretSource.Secret(ctx)
	if err != nil {
		err = fmt.Errorf("webhook of execution %s to host %s not sent: the signing secret: %w", ev.ExecutionID, host, err)
		if merr := n.c.Deliveries.MarkFailed(ctx, ev.ExecutionID, err.Error(), n.c.Now()); merr != nil {
			log.WarnContext(ctx, "webhook failure not recorded", "error", merr)
		}
		return err
	}
	var sendErr error
	pause, try := n.c.Backoff, 1
	for ; ; try++ {
		sendErr = n.send(ctx, secret, ev.CallbackURL, p.DeliveryID, p.Redelivery, body)
		var pe permanentError
		if sendErr == nil || errors.As(sendErr, &pe) || try >= n.c.Tries {
			break
		}
		if err := wait.For(ctx, pause); err != nil {
			sendErr = errors.Join(sendErr, err)
			break
		}
		pause *= 2
	}
	if sendErr != nil {
		if err := n.c.Deliveries.MarkFailed(ctx, ev.ExecutionID, sendErr.Error(), n.c.Now()); err != nil {
			log.WarnContext(ctx, "webhook failure not recorded", "error", err)
		}
		return fmt.Errorf("webhook of execution %s to host %s not delivered after %d tries: %w", ev.ExecutionID, host, try, sendErr)
	}
	if err := n.c.Deliveries.MarkDelivered(ctx, ev.ExecutionID, n.c.Now()); err != nil {
		// The receiver has it; a redelivery of the stream record would
		// send it again, marked as such.
		log.WarnContext(ctx, "webhook delivered but not recorded as delivered", "error", err)
	}
	log.InfoContext(ctx, "webhook delivered", "host", host, "redelivery", p.Redelivery, "tries", try)
	return nil
}

// send makes one request.
func (n *Notifier) send(ctx context.Context, secret []byte, target, deliveryID string, redelivery bool, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, n.c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return permanent(fmt.Errorf("build request: %w", err))
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return permanent(fmt.Errorf("scheme %q refused: only http and https", req.URL.Scheme))
	}
	ts := strconv.FormatInt(n.c.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Scaleout-Webhook/1")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	req.Header.Set(HeaderDelivery, deliveryID)
	if redelivery {
		req.Header.Set(HeaderRedelivery, "true")
	}
	resp, err := n.c.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("receiver answered %s", resp.Status)
	default:
		return permanent(fmt.Errorf("receiver answered %s", resp.Status))
	}
}

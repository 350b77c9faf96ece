package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of a webhook request.
const (
	HeaderTimestamp  = "X-Scaleout-Timestamp"
	HeaderSignature  = "X-Scaleout-Signature"
	HeaderDelivery   = "X-Scaleout-Delivery"
	HeaderRedelivery = "X-Scaleout-Redelivery"
)

// Errors of Verify.
var (
	ErrBadSignature = errors.New("webhook signature does not match")
	ErrTooOld       = errors.New("webhook timestamp outside the allowed age")
)

// Sign returns the X-Scaleout-Signature value of body sent at timestamp
// (unix seconds, as sent in X-Scaleout-Timestamp).
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a webhook request as a receiver gets it: timestamp and
// signature are the X-Scaleout-Timestamp and X-Scaleout-Signature headers,
// body the raw request body. The signature may list several values
// separated by commas; one v1 value must match. A timestamp more than
// maxAge away from now is refused (maxAge 0: no check), so a captured
// request cannot be replayed later.
func Verify(secret []byte, timestamp string, body []byte, signature string, maxAge time.Duration) error {
	return verifyAt(secret, timestamp, body, signature, maxAge, time.Now())
}

func verifyAt(secret []byte, timestamp string, body []byte, signature string, maxAge time.Duration, now time.Time) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook timestamp %q: not unix seconds", timestamp)
	}
	if maxAge > 0 {
		age := now.Sub(time.Unix(ts, 0))
		if age > maxAge || age < -maxAge {
			return fmt.Errorf("%w: sent %s ago, at most %s", ErrTooOld, age.Round(time.Second), maxAge)
		}
	}
	want := Sign(secret, timestamp, body)
	for _, s := range strings.Split(signature, ",") {
		if hmac.Equal([]byte(strings.TrimSpace(s)), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}

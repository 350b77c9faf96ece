package execution

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/scaleout/scaleout/scaleouttype"
)

// The rules of a listing of executions (scaleouttype.ExecutionFilter and
// ExecutionPage) that every store follows: which executions match, their
// order, the defaults, and the cursor that continues a page. The stores
// differ only in how they find the executions.

// ListLimit is the page size when a filter gives none, or one out of 1-1000.
const ListLimit = 100

// ListDays is how far back a listing by day looks when its filter gives
// no Since: days before the earlier of Until and now.
const ListDays = 30

// ByDay reports whether a listing with f goes by creation day: it names no
// folder, no package, and no status that is not final. Such a listing is
// bounded by default (see WithListDefaults).
func ByDay(f scaleouttype.ExecutionFilter) bool {
	return f.Package == "" && f.Folder == "" && (f.Status == "" || f.Status.Final())
}

// WithListDefaults returns f with its defaults: the page size, and for a
// listing by day Until (now) and Since (ListDays before the earlier of
// Until and now).
func WithListDefaults(f scaleouttype.ExecutionFilter, now time.Time) scaleouttype.ExecutionFilter {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = ListLimit
	}
	if ByDay(f) {
		if f.Until.IsZero() {
			f.Until = now
		}
		if f.Since.IsZero() {
			until := f.Until
			if now.Before(until) {
				until = now
			}
			f.Since = until.AddDate(0, 0, -ListDays)
		}
	}
	return f
}

// Matches reports whether e matches f's names and status (the time bounds
// are the listing's key range: see CreatedKey).
func Matches(f scaleouttype.ExecutionFilter, e Execution) bool {
	return (f.Folder == "" || e.Folder == f.Folder) && (f.Project == "" || e.Project == f.Project) &&
		(f.Package == "" || e.Package == f.Package) && (f.Status == "" || e.Status == f.Status)
}

// CreatedKey orders executions by creation, then id: listings go newest
// first by it, and a cursor holds the last one a page looked at.
func CreatedKey(created time.Time, id string) string {
	return fmt.Sprintf("%013d#%s", created.UnixMilli(), id)
}

// MSBound is the bound above every CreatedKey of millisecond ms and before.
func MSBound(ms int64) string { return fmt.Sprintf("%013d~", ms) }

// MSKey is the bound below every CreatedKey of millisecond ms and after.
func MSKey(ms int64) string { return fmt.Sprintf("%013d", ms) }

// ListCursor continues a listing below Key: a CreatedKey (the last
// execution looked at) or an MSBound (everything up to that millisecond).
// Filter ties it to the filter it was made for (Fingerprint); Lo is the
// lower bound (MSKey) of a listing by day, so that a default Since stays
// where the first page put it.
type ListCursor struct {
	Key    string `json:"k"`
	Filter uint32 `json:"f"`
	Lo     string `json:"l,omitempty"`
}

// Encode is the cursor as a page's Next.
func (c ListCursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeListCursor reads a cursor made for the filter whose Fingerprint is
// fingerprint; anything else is scaleouttype.ErrBadCursor.
func DecodeListCursor(s string, fingerprint uint32) (ListCursor, error) {
	var c ListCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 2048 || json.Unmarshal(b, &c) != nil || c.Filter != fingerprint || !validBound(c.Key) ||
		c.Lo != "" && !validMS(c.Lo) {
		return ListCursor{}, scaleouttype.ErrBadCursor
	}
	return c, nil
}

// validMS reports whether s is a bound of 13 digits (milliseconds).
func validMS(s string) bool {
	if len(s) != 13 {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

func validBound(k string) bool {
	if len(k) < 14 {
		return false
	}
	if _, err := strconv.ParseUint(k[:13], 10, 64); err != nil {
		return false
	}
	return k[13:] == "~" || k[13] == '#' && len(k) > 14
}

// Fingerprint identifies the filter a cursor belongs to: its names, status
// and time bounds as the caller gave them (before WithListDefaults).
func Fingerprint(f scaleouttype.ExecutionFilter) uint32 {
	h := fnv.New32a()
	for _, v := range []string{f.Folder, f.Project, f.Package, string(f.Status), f.Since.UTC().String(), f.Until.UTC().String()} {
		_, _ = h.Write([]byte(v))
		_, _ = h.Write([]byte{0})
	}
	return h.Sum32()
}

// CheckSubmittedSize refuses an execution that would take size bytes as
// stored, params of them its parameters, when that is over
// MaxSubmittedBytes, saying what takes the room (ErrTooLarge). Each store
// measures its own way (DynamoDB's item size, or the JSON of the
// execution).
func CheckSubmittedSize(e Execution, size, params int) error {
	if size <= MaxSubmittedBytes {
		return nil
	}
	return fmt.Errorf("the execution would take %d bytes as stored (definition %d, parameters %d); at most %d (320 KiB) are "+
		"taken at submission, so that its result always fits in its 400 KiB DynamoDB item: make the definition or the parameters smaller (%w)",
		size, len(e.Definition), params, MaxSubmittedBytes, ErrTooLarge)
}

package registrytype

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scaleout/scaleout/scaleouttype"
)

// Errors for the HTTP layer; check them with errors.Is.
var (
	// ErrInvalid: a field is malformed or too long; the message lists every problem.
	ErrInvalid = errors.New("invalid worker")
)

// Limits on the fields a worker or an administrator sets.
const (
	MaxIDLength          = 128
	MaxDisplayNameLength = 100  // characters
	MaxDescriptionLength = 1000 // characters
	MaxTags              = 50
	MaxTagKeyLength      = 128
	MaxTagValueLength    = 256
	MaxPools             = 50
	MaxMachineLength     = 255
	MaxVersionLength     = 128
)

// DefaultRetention is how long a registry keeps a worker after its last
// heartbeat, unless told otherwise.
const DefaultRetention = 7 * 24 * time.Hour

// Worker is one registered worker.
type Worker = scaleouttype.Worker

// Registration is what a worker says about itself when it starts.
type Registration struct {
	ID       string
	Machine  string
	Pools    []string
	MaxTasks int
	Version  string
	// Tags apply only when the worker is first registered; after that they
	// are the administrator's.
	Tags map[string]string
}

// Changes is an administrator's edit: a nil field is left as it is.
type Changes struct {
	DisplayName *string
	Description *string
	// Tags replaces every tag; a non-nil empty map removes them all.
	Tags map[string]string
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9._:@-]+$`)

// ValidID reports whether id can name a worker: 1-128 letters, digits or
// any of . _ : @ -.
func ValidID(id string) error {
	if id == "" || len(id) > MaxIDLength || !idPattern.MatchString(id) {
		return fmt.Errorf("%w: id %q: use 1-%d letters, digits, '.', '_', ':', '@' or '-'", ErrInvalid, id, MaxIDLength)
	}
	return nil
}

// Validate reports every problem with r, wrapping ErrInvalid.
func (r Registration) Validate() error {
	var p problems
	if err := ValidID(r.ID); err != nil {
		p.add("id %q: use 1-%d letters, digits, '.', '_', ':', '@' or '-'", r.ID, MaxIDLength)
	}
	p.text("machine", r.Machine, MaxMachineLength, false)
	p.text("version", r.Version, MaxVersionLength, false)
	if r.MaxTasks < 1 {
		p.add("max tasks %d: must be at least 1", r.MaxTasks)
	}
	if len(r.Pools) > MaxPools {
		p.add("%d pools: at most %d", len(r.Pools), MaxPools)
	}
	for _, pool := range r.Pools {
		p.text("pool", pool, 40, true)
	}
	p.tags(r.Tags)
	return p.err()
}

// Validate reports every problem with c, wrapping ErrInvalid.
func (c Changes) Validate() error {
	var p problems
	if c.DisplayName != nil {
		p.text("display name", *c.DisplayName, MaxDisplayNameLength, false)
	}
	if c.Description != nil {
		p.text("description", *c.Description, MaxDescriptionLength, false)
	}
	p.tags(c.Tags)
	if c.DisplayName == nil && c.Description == nil && c.Tags == nil {
		p.add("nothing to change: give a display name, description or tags")
	}
	return p.err()
}

type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// text checks a length in characters, valid UTF-8 and no control
// characters (a description may have line breaks and tabs).
func (p *problems) text(field, v string, max int, required bool) {
	switch {
	case required && v == "":
		p.add("%s: must not be empty", field)
	case !utf8.ValidString(v):
		p.add("%s: not valid UTF-8", field)
	case utf8.RuneCountInString(v) > max:
		p.add("%s: %d characters, at most %d", field, utf8.RuneCountInString(v), max)
	case strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }):
		p.add("%s: contains a control character", field)
	}
}

func (p *problems) tags(tags map[string]string) {
	if len(tags) > MaxTags {
		p.add("%d tags: at most %d", len(tags), MaxTags)
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		v := tags[k]
		p.text(fmt.Sprintf("tag key %q", k), k, MaxTagKeyLength, true)
		p.text(fmt.Sprintf("tag %q value", k), v, MaxTagValueLength, false)
	}
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(p, "; "))
}

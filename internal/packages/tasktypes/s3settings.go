package tasktypes

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/scaleout/scaleout/internal/packages/s3client"
	"github.com/scaleout/scaleout/internal/suggest"
)

// The s3 type's operations, in the order messages list them.
var s3Ops = []string{"list", "get", "put", "copy", "move", "delete"}

// s3Keys are the settings each operation takes.
var s3Keys = map[string][]string{
	"list":   {"connection", "op", "prefix", "glob", "newer_than", "limit"},
	"get":    {"connection", "op", "key", "prefix", "glob", "newer_than", "to"},
	"put":    {"connection", "op", "from", "key", "prefix"},
	"copy":   {"connection", "op", "key", "prefix", "glob", "newer_than", "to_key", "to_prefix", "to_connection"},
	"move":   {"connection", "op", "key", "prefix", "glob", "newer_than", "to_key", "to_prefix", "to_connection"},
	"delete": {"connection", "op", "key", "prefix", "glob", "newer_than"},
}

// Limits of the s3 type.
const (
	// DefaultS3ListLimit is how many objects a list returns when
	// with.limit is not given.
	DefaultS3ListLimit = 1000
	// MaxS3ListLimit is the largest with.limit.
	MaxS3ListLimit = 100_000
	// MaxS3OutputKeys is how many keys the output of get, put, copy, move
	// and delete lists (count has them all).
	MaxS3OutputKeys = 1000
)

// s3Settings are an s3 task's settings, read.
type s3Settings struct {
	conn, op string

	// The objects: one key, or those under prefix matching glob and
	// newer than cutoff.
	key       string
	hasKey    bool
	prefix    string
	hasPrefix bool
	glob      *regexp.Regexp
	globText  string
	newer     newerThan
	limit     int

	to       string // get: a file or directory in the scratch directory
	from     string // put: a file, directory or glob in the scratch directory
	toKey    string
	toPrefix string
	hasToPfx bool
	toConn   string
}

// newerThan is with.newer_than: an age back from the task's start, or a
// point in time.
type newerThan struct {
	age time.Duration
	at  time.Time
}

func (n newerThan) set() bool { return n.age > 0 || !n.at.IsZero() }

// cutoff is the time objects must be modified after.
func (n newerThan) cutoff(now time.Time) time.Time {
	if n.age > 0 {
		return now.Add(-n.age)
	}
	return n.at
}

func readS3(with map[string]any, check bool) (s3Settings, *settings) {
	var x s3Settings
	op, opOK := with["op"].(string)
	known := s3Keys[op]
	if known == nil {
		known = allS3Keys()
	}
	s := newSettings(with, check, known...)

	if v, ok := s.get("connection"); !ok {
		s.missing("connection", "the name of an s3 connection of the package")
	} else if !s.placeholder(v) {
		if x.conn, ok = s.scalar("connection", v, "a connection name"); ok && strings.TrimSpace(x.conn) == "" {
			s.problem("connection", v, "name an s3 connection of the package")
		}
	}
	switch v, present := s.get("op"); {
	case !present:
		s.missing("op", "one of "+strings.Join(s3Ops, ", "))
		return x, s
	case s.placeholder(v):
		return x, s // what it takes is known only at run time
	case !opOK || s3Keys[op] == nil:
		msg := "unknown operation (known: " + strings.Join(s3Ops, ", ") + ")"
		if near := suggest.Closest(fmt.Sprint(v), s3Ops); opOK && near != "" {
			msg += fmt.Sprintf("; did you mean %q?", near)
		}
		s.problem("op", v, "%s", msg)
		return x, s
	}
	x.op = op

	given := func(k string) bool { _, ok := s.get(k); return ok }
	x.hasKey, x.hasPrefix, x.hasToPfx = given("key"), given("prefix"), given("to_prefix")
	if k, ok := s.str("key", "an object key"); ok {
		x.key = k
		if k == "" {
			s.problem("key", k, "name an object, e.g. \"incoming/sales.csv\"")
		}
	}
	x.prefix, _ = s.str("prefix", "a key prefix")
	if g, ok := s.str("glob", "a glob such as \"incoming/*.csv\""); ok {
		re, err := globRegexp(g)
		if err != nil {
			s.problem("glob", g, "%v", err)
		}
		x.glob, x.globText = re, g
	}
	if v, ok := s.get("newer_than"); ok && !s.placeholder(v) {
		x.newer = readNewerThan(s, v)
	}
	x.limit = DefaultS3ListLimit
	if n, ok := s.integer("limit", 1, MaxS3ListLimit); ok {
		x.limit = n
	}
	x.to, _ = s.str("to", "a path in the scratch directory")
	x.from, _ = s.str("from", "a path in the scratch directory")
	x.toKey, _ = s.str("to_key", "an object key")
	x.toPrefix, _ = s.str("to_prefix", "a key prefix")
	x.toConn, _ = s.str("to_connection", "a connection name")

	for _, p := range []string{"to", "from"} {
		if v, ok := with[p].(string); ok && !s.placeholder(v) {
			if err := scratchPath(v, p == "from"); err != nil {
				s.problem(p, v, "%v", err)
			}
		}
	}

	// What names the objects.
	selects := given("prefix") || given("glob") || given("newer_than")
	switch op {
	case "get", "copy", "move", "delete":
		switch {
		case given("key") && selects:
			s.errs = append(s.errs, fmt.Errorf("with.key names one object: leave out with.prefix, with.glob and with.newer_than, or with.key"))
		case !given("key") && !given("prefix") && !given("glob"):
			s.missing("key", "one object's key, or with.prefix and/or with.glob for many")
		case op == "delete" && !given("key") && !given("glob") && x.hasPrefix && x.prefix == "":
			s.problem("prefix", "", "an empty prefix is the whole bucket: to delete every object, say so with glob: \"**\"")
		}
	case "put":
		if !given("from") {
			s.missing("from", "a file, directory or glob in the run's scratch directory, e.g. \"out/*.csv\"")
		}
		if given("key") && given("prefix") {
			s.errs = append(s.errs, fmt.Errorf("with.key names the one object a file goes to, with.prefix where many go: give one of them"))
		}
	}
	if op == "copy" || op == "move" {
		switch {
		case given("to_key") && given("to_prefix"):
			s.errs = append(s.errs, fmt.Errorf("with.to_key names one object, with.to_prefix where many go: give one of them"))
		case given("to_key") && !given("key"):
			s.errs = append(s.errs, fmt.Errorf("with.to_key is for one object (with.key); for many, give with.to_prefix"))
		case !given("to_key") && !given("to_prefix"):
			s.missing("to_prefix", "where the objects go: with.to_prefix (or with.to_key for one with.key)")
		}
	}
	return x, s
}

func allS3Keys() []string {
	var all []string
	for _, op := range s3Ops {
		for _, k := range s3Keys[op] {
			if !slices.Contains(all, k) {
				all = append(all, k)
			}
		}
	}
	return all
}

// readNewerThan reads an age ("24h") or a point in time (RFC 3339).
func readNewerThan(s *settings, v any) newerThan {
	str, ok := v.(string)
	if !ok {
		s.problem("newer_than", v, `want an age such as "24h" or a time such as "2026-11-01T00:00:00Z", not %s`, kind(v))
		return newerThan{}
	}
	str = strings.TrimSpace(str)
	if d, err := time.ParseDuration(str); err == nil {
		if d <= 0 {
			s.problem("newer_than", v, "an age must be more than 0")
			return newerThan{}
		}
		return newerThan{age: d}
	}
	if t, err := time.Parse(time.RFC3339Nano, str); err == nil {
		return newerThan{at: t}
	}
	s.problem("newer_than", v, `write an age such as "24h" or "90m" (units: s, m, h), or an RFC 3339 time such as "2026-11-01T00:00:00Z"`)
	return newerThan{}
}

// scratchPath checks a path in the run's scratch directory: relative, and
// not reaching out of it. Globs are allowed where glob is true.
func scratchPath(p string, glob bool) error {
	switch {
	case p == "":
		return fmt.Errorf("give a path in the run's scratch directory, e.g. \"data/sales.csv\"")
	case strings.ContainsRune(p, 0):
		return fmt.Errorf("must not hold a NUL byte")
	case filepath.IsAbs(p) || strings.HasPrefix(p, "/"):
		return fmt.Errorf("must be relative to the run's scratch directory, not absolute")
	case !filepath.IsLocal(filepath.Clean(p)):
		return fmt.Errorf("must stay inside the run's scratch directory (no \"..\" out of it)")
	}
	if glob {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("not a valid glob: %w", err)
		}
	}
	return nil
}

// globRegexp compiles a glob over whole object keys (see s3client.Glob).
func globRegexp(g string) (*regexp.Regexp, error) { return s3client.Glob(g) }

// globLiteral is the part of a glob before its first wildcard (see
// s3client.GlobPrefix).
func globLiteral(g string) string { return s3client.GlobPrefix(g) }

// folderOf is s up to and including its last "/": the part of a prefix
// or glob that keys are named relative to when they land in a directory.
func folderOf(s string) string {
	return s[:strings.LastIndexByte(s, '/')+1]
}

package execstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/resources"
)

// Filter selects executions to list. Empty fields match everything.
type Filter struct {
	Folder, Project, Package string
	Status                   execution.Status
	// Since and Until bound the creation time (inclusive); zero means open.
	// Without a folder, package or status, Until defaults to now and Since
	// to 30 days before Until.
	Since, Until time.Time
	// Limit is the page size (1-1000, default 100).
	Limit int
	// Cursor continues a previous page.
	Cursor string
}

// Page is one page of executions, newest first.
type Page struct {
	Executions []execution.Execution `json:"executions"`
	// Next continues the listing; empty on the last page.
	Next string `json:"next,omitempty"`
}

// ErrBadCursor is returned for a cursor List did not make for this filter.
var ErrBadCursor = errors.New("not a cursor from a previous page of this listing")

type cursor struct {
	Day string            `json:"d,omitempty"`
	Key map[string]string `json:"k,omitempty"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 2048 || json.Unmarshal(b, &c) != nil {
		return c, ErrBadCursor
	}
	return c, nil
}

// List returns executions matching f, newest first, using the most
// selective index: by package, by folder, by status, else by day.
func (s *Store) List(ctx context.Context, f Filter, now time.Time) (Page, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	var cur cursor
	if f.Cursor != "" {
		var err error
		if cur, err = decodeCursor(f.Cursor); err != nil {
			return Page{}, err
		}
	}
	q := query{names: map[string]string{"#sk": resources.CreatedKey}, values: map[string]types.AttributeValue{}}
	var filters []string
	switch {
	case f.Package != "":
		q.index, q.pkName = resources.ByPackage, resources.PackageKey
		q.values[":pk"] = str(f.Folder + "/" + f.Project + "/" + f.Package)
		if f.Status != "" {
			filters = append(filters, "#status = :status")
		}
	case f.Folder != "":
		q.index, q.pkName = resources.ByFolder, "folder"
		q.values[":pk"] = str(f.Folder)
		if f.Project != "" {
			filters = append(filters, "#project = :project")
		}
		if f.Status != "" {
			filters = append(filters, "#status = :status")
		}
	case f.Status != "":
		q.index, q.pkName = resources.ByStatus, "status"
		q.values[":pk"] = str(string(f.Status))
		if f.Project != "" {
			filters = append(filters, "#project = :project")
		}
	default:
		q.index, q.pkName = resources.ByDay, resources.DayKey
		if f.Project != "" {
			filters = append(filters, "#project = :project")
		}
		if f.Until.IsZero() {
			f.Until = now
		}
		if f.Since.IsZero() {
			f.Since = f.Until.AddDate(0, 0, -30)
		}
	}
	if strings.Contains(strings.Join(filters, " "), "#status") {
		q.names["#status"] = "status"
		q.values[":status"] = str(string(f.Status))
	}
	if strings.Contains(strings.Join(filters, " "), "#project") {
		q.names["#project"] = "project"
		q.values[":project"] = str(f.Project)
	}
	q.filter = strings.Join(filters, " AND ")
	q.names["#pk"] = q.pkName
	lo, hi := "0", "~"
	if !f.Since.IsZero() {
		lo = fmt.Sprintf("%013d", f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		hi = fmt.Sprintf("%013d~", f.Until.UnixMilli())
	}
	q.values[":lo"], q.values[":hi"] = str(lo), str(hi)

	day := ""
	if q.index == resources.ByDay {
		day = f.Until.UTC().Format(time.DateOnly)
		if cur.Day != "" {
			if _, err := time.Parse(time.DateOnly, cur.Day); err != nil {
				return Page{}, ErrBadCursor
			}
			day = cur.Day
		}
	}
	start := cur.Key
	page := Page{}
	for calls := 0; len(page.Executions) < f.Limit && calls < 50; calls++ {
		if day != "" {
			q.values[":pk"] = str(day)
		}
		items, next, err := s.query(ctx, q, start, f.Limit-len(page.Executions))
		if err != nil {
			return Page{}, err
		}
		for _, it := range items {
			e, err := Decode(it)
			if err != nil {
				return Page{}, err
			}
			e.Definition, e.Tasks = nil, nil // lists stay small: GET one for the rest
			page.Executions = append(page.Executions, e)
		}
		start = next
		if next != nil {
			continue
		}
		if day == "" {
			break
		}
		// This day is done: go on with the one before, if in range.
		d, _ := time.Parse(time.DateOnly, day)
		prev := d.AddDate(0, 0, -1)
		if prev.Before(f.Since.UTC().Truncate(24 * time.Hour)) {
			day = ""
			break
		}
		day = prev.Format(time.DateOnly)
	}
	if start != nil || day != "" {
		page.Next = cursor{Day: day, Key: start}.encode()
	}
	return page, nil
}

type query struct {
	index, pkName, filter string
	names                 map[string]string
	values                map[string]types.AttributeValue
}

func (s *Store) query(ctx context.Context, q query, start map[string]string, limit int) ([]map[string]types.AttributeValue, map[string]string, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(q.index),
		KeyConditionExpression:    aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
		ExpressionAttributeNames:  q.names,
		ExpressionAttributeValues: q.values,
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
	}
	if q.filter != "" {
		in.FilterExpression = aws.String(q.filter)
	}
	if len(start) > 0 {
		in.ExclusiveStartKey = map[string]types.AttributeValue{}
		for k, v := range start {
			in.ExclusiveStartKey[k] = str(v)
		}
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		var ve interface{ ErrorCode() string }
		if len(start) > 0 && errors.As(err, &ve) && ve.ErrorCode() == "ValidationException" {
			return nil, nil, ErrBadCursor
		}
		return nil, nil, fmt.Errorf("list executions: %w", err)
	}
	var next map[string]string
	if len(out.LastEvaluatedKey) > 0 {
		next = map[string]string{}
		for k, v := range out.LastEvaluatedKey {
			sv, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				return nil, nil, fmt.Errorf("list executions: unexpected key attribute %s", k)
			}
			next[k] = sv.Value
		}
	}
	return out.Items, next, nil
}

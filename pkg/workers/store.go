package workers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/pkg/resources"
)

// Partition is the catalog partition key of every worker item.
const Partition = "WORKER"

// Store keeps the registry in the catalog table.
type Store struct {
	db    *dynamodb.Client
	table string
	// OfflineAfter is how old a last heartbeat may be for the worker to
	// count as online; default DefaultOfflineAfter.
	OfflineAfter time.Duration
	// Retention is how long after its last heartbeat a worker's item is
	// kept (DynamoDB TTL); zero keeps it until removed.
	Retention time.Duration
	// Now is the clock for heartbeats, TTL and Online; default time.Now.
	Now func() time.Time
}

// NewStore returns the registry on the named catalog table.
func NewStore(db *dynamodb.Client, table string) *Store {
	return &Store{db: db, table: table, OfflineAfter: DefaultOfflineAfter, Retention: DefaultRetention, Now: time.Now}
}

type item struct {
	ID            string            `dynamodbav:"sk"`
	DisplayName   string            `dynamodbav:"display_name"`
	Description   string            `dynamodbav:"description"`
	Tags          map[string]string `dynamodbav:"tags"`
	Enabled       bool              `dynamodbav:"enabled"`
	Machine       string            `dynamodbav:"machine"`
	Pools         []string          `dynamodbav:"pools"`
	MaxTasks      int               `dynamodbav:"max_tasks"`
	Version       string            `dynamodbav:"version"`
	Running       int               `dynamodbav:"running"`
	RegisteredAt  int64             `dynamodbav:"registered_at"`
	LastHeartbeat int64             `dynamodbav:"last_heartbeat"`
	// SignedOff is when the worker stopped cleanly (unix ms); a heartbeat
	// after it means it runs again.
	SignedOff int64 `dynamodbav:"signed_off,omitempty"`
	ExpiresAt int64 `dynamodbav:"expires_at,omitempty"`
}

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Store) offlineAfter() time.Duration {
	if s.OfflineAfter <= 0 {
		return DefaultOfflineAfter
	}
	return s.OfflineAfter
}

// expired reports whether TTL should already have deleted it.
func (it item) expired(now time.Time) bool { return it.ExpiresAt != 0 && it.ExpiresAt <= now.Unix() }

func (s *Store) decode(av map[string]types.AttributeValue, now time.Time) (Worker, item, error) {
	var it item
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return Worker{}, it, fmt.Errorf("decode worker item: %w", err)
	}
	w := Worker{
		ID: it.ID, DisplayName: it.DisplayName, Description: it.Description, Tags: it.Tags, Enabled: it.Enabled,
		Machine: it.Machine, Pools: it.Pools, MaxTasks: it.MaxTasks, Version: it.Version, Running: it.Running,
		RegisteredAt:  time.UnixMilli(it.RegisteredAt).UTC(),
		LastHeartbeat: time.UnixMilli(it.LastHeartbeat).UTC(),
	}
	if w.Tags == nil {
		w.Tags = map[string]string{}
	}
	if w.Pools == nil {
		w.Pools = []string{}
	}
	w.Online = OnlineAt(w.LastHeartbeat, now, s.offlineAfter()) && it.SignedOff < it.LastHeartbeat
	return w, it, nil
}

func key(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{resources.CatalogPK: str(Partition), resources.CatalogSK: str(id)}
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// heartbeatSet sets the heartbeat and the TTL that follows it.
func (s *Store) heartbeatSet(now time.Time, values map[string]types.AttributeValue) (set, remove string) {
	values[":now"] = num(now.UnixMilli())
	if s.Retention > 0 {
		values[":exp"] = num(now.Add(s.Retention).Unix())
		return "last_heartbeat = :now, expires_at = :exp", ""
	}
	return "last_heartbeat = :now", " REMOVE expires_at"
}

// Register records a starting worker (see the package rules) and returns
// its stored record, whose Enabled says whether it may take work.
func (s *Store) Register(ctx context.Context, r Registration) (Worker, error) {
	if err := r.Validate(); err != nil {
		return Worker{}, err
	}
	pools, err := attributevalue.Marshal(r.Pools)
	if err != nil {
		return Worker{}, fmt.Errorf("encode pools: %w", err)
	}
	if r.Pools == nil {
		pools = &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
	}
	tags := map[string]types.AttributeValue{}
	for k, v := range r.Tags {
		tags[k] = str(v)
	}
	now := s.now()
	values := map[string]types.AttributeValue{
		":machine": str(r.Machine), ":pools": pools, ":max": num(int64(r.MaxTasks)), ":version": str(r.Version),
		":zero": num(0), ":true": &types.AttributeValueMemberBOOL{Value: true}, ":id": str(r.ID),
		":empty": str(""), ":tags": &types.AttributeValueMemberM{Value: tags},
	}
	hb, remove := s.heartbeatSet(now, values)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key:       key(r.ID),
		UpdateExpression: aws.String("SET machine = :machine, pools = :pools, max_tasks = :max, version = :version, " +
			"running = :zero, registered_at = if_not_exists(registered_at, :now), " +
			"enabled = if_not_exists(enabled, :true), display_name = if_not_exists(display_name, :id), " +
			"description = if_not_exists(description, :empty), tags = if_not_exists(tags, :tags), " + hb + remove),
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err != nil {
		return Worker{}, fmt.Errorf("register worker %s: %w", r.ID, err)
	}
	w, _, err := s.decode(out.Attributes, now)
	return w, err
}

// Heartbeat records that worker id is alive and runs running executions,
// and returns whether it is enabled. A removed worker gets ErrNotFound.
func (s *Store) Heartbeat(ctx context.Context, id string, running int) (enabled bool, err error) {
	if ValidID(id) != nil {
		return false, fmt.Errorf("worker %q: %w", id, ErrNotFound)
	}
	now := s.now()
	values := map[string]types.AttributeValue{":running": num(int64(running))}
	hb, remove := s.heartbeatSet(now, values)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(id),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		UpdateExpression:          aws.String("SET running = :running, " + hb + remove),
		ExpressionAttributeNames:  map[string]string{"#pk": resources.CatalogPK},
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err != nil {
		return false, s.mapErr("heartbeat of worker", id, err)
	}
	w, _, err := s.decode(out.Attributes, now)
	return w.Enabled, err
}

// SignOff records that a worker stopped cleanly: it shows offline at once
// rather than after the offline window, with nothing running. Its next
// heartbeat (a restart registers again) brings it back online.
func (s *Store) SignOff(ctx context.Context, id string) error {
	if ValidID(id) != nil {
		return fmt.Errorf("worker %q: %w", id, ErrNotFound)
	}
	now := s.now().UnixMilli()
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(id),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		UpdateExpression:          aws.String("SET running = :zero, signed_off = :now, last_heartbeat = :now"),
		ExpressionAttributeNames:  map[string]string{"#pk": resources.CatalogPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0), ":now": num(now)},
	})
	if err != nil {
		return s.mapErr("sign-off of worker", id, err)
	}
	return nil
}

// Get reads one worker.
func (s *Store) Get(ctx context.Context, id string) (Worker, error) {
	if ValidID(id) != nil {
		return Worker{}, fmt.Errorf("worker %q: %w", id, ErrNotFound)
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Worker{}, fmt.Errorf("get worker %s: %w", id, err)
	}
	now := s.now()
	if out.Item == nil {
		return Worker{}, fmt.Errorf("worker %s: %w", id, ErrNotFound)
	}
	w, it, err := s.decode(out.Item, now)
	if err != nil {
		return Worker{}, err
	}
	if it.expired(now) {
		return Worker{}, fmt.Errorf("worker %s (expired): %w", id, ErrNotFound)
	}
	return w, nil
}

// List returns every worker in id order.
func (s *Store) List(ctx context.Context) ([]Worker, error) {
	now := s.now()
	list := []Worker{}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": resources.CatalogPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(Partition)},
		ConsistentRead:            aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list workers: %w", err)
		}
		for _, av := range page.Items {
			w, it, err := s.decode(av, now)
			if err != nil {
				return nil, err
			}
			if !it.expired(now) {
				list = append(list, w)
			}
		}
	}
	return list, nil
}

// live is the condition of an administrator's write: the worker exists
// and has not expired.
func live(now time.Time, names map[string]string, values map[string]types.AttributeValue) string {
	names["#pk"] = resources.CatalogPK
	names["#exp"] = resources.TTLAttribute
	values[":nows"] = num(now.Unix())
	return "attribute_exists(#pk) AND (attribute_not_exists(#exp) OR #exp > :nows)"
}

// SetEnabled enables or disables a worker; a disabled worker finishes what
// it runs and takes no new work until enabled again. It learns of the
// change at its next heartbeat.
func (s *Store) SetEnabled(ctx context.Context, id string, enabled bool) (Worker, error) {
	return s.update(ctx, id, "SET enabled = :enabled", map[string]string{},
		map[string]types.AttributeValue{":enabled": &types.AttributeValueMemberBOOL{Value: enabled}})
}

// Update applies an administrator's changes to a worker.
func (s *Store) Update(ctx context.Context, id string, c Changes) (Worker, error) {
	if err := c.Validate(); err != nil {
		return Worker{}, err
	}
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	set := "SET"
	add := func(expr string) {
		if set != "SET" {
			set += ","
		}
		set += " " + expr
	}
	if c.DisplayName != nil {
		name := *c.DisplayName
		if name == "" {
			name = id // an empty display name shows the id again
		}
		values[":name"] = str(name)
		add("display_name = :name")
	}
	if c.Description != nil {
		values[":desc"] = str(*c.Description)
		add("description = :desc")
	}
	if c.Tags != nil {
		tags := map[string]types.AttributeValue{}
		for k, v := range c.Tags {
			tags[k] = str(v)
		}
		values[":tags"] = &types.AttributeValueMemberM{Value: tags}
		add("tags = :tags")
	}
	return s.update(ctx, id, set, names, values)
}

func (s *Store) update(ctx context.Context, id, set string, names map[string]string, values map[string]types.AttributeValue) (Worker, error) {
	if ValidID(id) != nil {
		return Worker{}, fmt.Errorf("worker %q: %w", id, ErrNotFound)
	}
	now := s.now()
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(id),
		ConditionExpression:       aws.String(live(now, names, values)),
		UpdateExpression:          aws.String(set),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err != nil {
		return Worker{}, s.mapErr("update worker", id, err)
	}
	w, _, err := s.decode(out.Attributes, now)
	return w, err
}

// Remove deletes a worker from the registry. Its running executions go
// on; its next heartbeat gets ErrNotFound and it takes no new work until
// its process restarts and registers again.
func (s *Store) Remove(ctx context.Context, id string) error {
	if ValidID(id) != nil {
		return fmt.Errorf("worker %q: %w", id, ErrNotFound)
	}
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(id),
		ConditionExpression:       aws.String(live(s.now(), names, values)),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if err != nil {
		return s.mapErr("remove worker", id, err)
	}
	return nil
}

func (s *Store) mapErr(what, id string, err error) error {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("%s %s: %w", what, id, ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", what, id, err)
}

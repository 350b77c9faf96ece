package registry

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Partition prefixes the catalog partition keys of the worker items:
// "REGISTRY#<shard>", shard = FNV-1a of the id modulo Shards.
const Partition = resources.CatalogRegistryPrefix

// Shards spreads the worker items over partitions. Each live worker renews
// its item every lease/2 (30 s by default): 25,000 workers (100,000
// executions at four each) write 833 times a second, about 104 a second on
// each of 8 partitions, well under a partition's 1,000.
const Shards = 8

// shardOf is the partition key of worker id's item.
func shardOf(id string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return Partition + strconv.Itoa(int(h.Sum32()%Shards))
}

// Store keeps the registry in the catalog table.
type Store struct {
	db    *dynamodb.Client
	table string
	// Retention is how long after its last heartbeat a worker's item is
	// kept (DynamoDB TTL); zero keeps it until removed.
	Retention time.Duration
	// Now is the clock for heartbeats, TTL and Online; default time.Now.
	Now func() time.Time
}

// NewStore returns the registry on the named catalog table.
func NewStore(db *dynamodb.Client, table string) *Store {
	return &Store{db: db, table: table, Retention: DefaultRetention, Now: time.Now}
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
	// LeaseUntil is when the worker's session lease runs out (unix ms).
	LeaseUntil int64 `dynamodbav:"lease_until,omitempty"`
	ExpiresAt  int64 `dynamodbav:"expires_at,omitempty"`
}

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
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
	w.Online = it.LeaseUntil > now.UnixMilli() && it.SignedOff < it.LeaseUntil
	if !w.Online {
		w.Running = 0 // what it ran is recovered by others, not run by it
	}
	return w, it, nil
}

func key(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{resources.CatalogPK: str(shardOf(id)), resources.CatalogSK: str(id)}
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

// SignOff records that a worker stopped cleanly: it shows offline at once
// rather than when its lease runs out, with nothing running, and its
// session ends (its lease is cut to now: nothing it held is lost, it
// handed everything back before). Its next registration opens a new one.
func (s *Store) SignOff(ctx context.Context, sess Session) error {
	if ValidID(sess.WorkerID) != nil {
		return fmt.Errorf("worker %q: %w", sess.WorkerID, scaleouttype.ErrNotFound)
	}
	now := s.now().UnixMilli()
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(sess.WorkerID),
		ConditionExpression:       aws.String("#session = :session"),
		UpdateExpression:          aws.String("SET running = :zero, signed_off = :now, last_heartbeat = :now, lease_until = :now REMOVE runs, stops"),
		ExpressionAttributeNames:  map[string]string{"#session": "session"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0), ":now": num(now), ":session": str(sess.ID)},
	})
	if err != nil {
		return s.mapErr("sign-off of worker", sess.WorkerID, err)
	}
	return nil
}

// Get reads one worker.
func (s *Store) Get(ctx context.Context, id string) (Worker, error) {
	if ValidID(id) != nil {
		return Worker{}, fmt.Errorf("worker %q: %w", id, scaleouttype.ErrNotFound)
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
		return Worker{}, fmt.Errorf("worker %s: %w", id, scaleouttype.ErrNotFound)
	}
	w, it, err := s.decode(out.Item, now)
	if err != nil {
		return Worker{}, err
	}
	if it.expired(now) {
		return Worker{}, fmt.Errorf("worker %s (expired): %w", id, scaleouttype.ErrNotFound)
	}
	return w, nil
}

// List returns every worker in id order: one Query per shard.
func (s *Store) List(ctx context.Context) ([]Worker, error) {
	now := s.now()
	list := []Worker{}
	for shard := range Shards {
		p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			KeyConditionExpression:    aws.String("#pk = :pk"),
			ExpressionAttributeNames:  map[string]string{"#pk": resources.CatalogPK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(Partition + strconv.Itoa(shard))},
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
	}
	slices.SortFunc(list, func(a, b Worker) int { return strings.Compare(a.ID, b.ID) })
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
// change at its next signals read (within worker.StopCheck).
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
		return Worker{}, fmt.Errorf("worker %q: %w", id, scaleouttype.ErrNotFound)
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

// Remove deletes an offline worker from the registry: one that signed off
// or whose session's lease ran out. An online worker is refused with
// ErrBusy: its item holds the lease its executions run under (even one it
// claimed a moment ago and has not recorded yet), so removing it could let
// another worker run them while it still does. Stop the worker's process
// (or disable it and wait until it is offline), then remove it. A process
// that is still alive registers again at its next renewal.
func (s *Store) Remove(ctx context.Context, id string) error {
	if ValidID(id) != nil {
		return fmt.Errorf("worker %q: %w", id, scaleouttype.ErrNotFound)
	}
	now := s.now()
	names := map[string]string{}
	values := map[string]types.AttributeValue{":nowms": num(now.UnixMilli())}
	cond := live(now, names, values) + " AND (attribute_not_exists(lease_until) OR lease_until <= :nowms)"
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 key(id),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) && len(ccf.Item) > 0 {
		if w, it, derr := s.decode(ccf.Item, now); derr == nil && !it.expired(now) {
			return fmt.Errorf("remove worker %s: %w: it is online (its session's lease runs until %s, %d executions running): "+
				"stop its process, or disable it and wait until it is offline, then remove it", id, ErrBusy,
				time.UnixMilli(it.LeaseUntil).UTC().Format(time.RFC3339), w.Running)
		}
	}
	if err != nil {
		return s.mapErr("remove worker", id, err)
	}
	return nil
}

func (s *Store) mapErr(what, id string, err error) error {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("%s %s: %w", what, id, scaleouttype.ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", what, id, err)
}

// PartitionOf is the catalog partition key of worker id's registry item,
// which its session's renewals write: for a capacity model.
func PartitionOf(id string) string { return shardOf(id) }

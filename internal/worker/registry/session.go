package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/scaleouttype"
)

// sessionFields are the registry item's session attributes.
type sessionFields struct {
	Session    string         `dynamodbav:"session,omitempty"`
	LeaseUntil int64          `dynamodbav:"lease_until,omitempty"` // unix ms
	Runs       map[string]int `dynamodbav:"runs,omitempty"`        // execution id -> attempt
	Stops      []string       `dynamodbav:"stops,omitempty,stringset"`
	SignedOff  int64          `dynamodbav:"signed_off,omitempty"`
	Renewed    int64          `dynamodbav:"last_heartbeat,omitempty"`
	LeaseMS    int64          `dynamodbav:"lease_ms,omitempty"`
}

func decodeSession(workerID string, av map[string]types.AttributeValue) (SessionState, error) {
	if len(av) == 0 {
		return SessionState{WorkerID: workerID}, nil
	}
	var f sessionFields
	if err := attributevalue.UnmarshalMap(av, &f); err != nil {
		return SessionState{}, fmt.Errorf("decode the session of worker %s: %w", workerID, err)
	}
	st := SessionState{WorkerID: workerID, ID: f.Session, LeaseUntil: time.UnixMilli(f.LeaseUntil).UTC(),
		SignedOff: f.SignedOff != 0 && f.SignedOff >= f.LeaseUntil, Renewed: time.UnixMilli(f.Renewed).UTC(),
		Lease: time.Duration(f.LeaseMS) * time.Millisecond, Exists: true}
	for id, attempt := range f.Runs {
		st.Runs = append(st.Runs, Run{ExecutionID: id, Attempt: attempt})
	}
	return st, nil
}

// Key is the registry item of worker id, for a caller that must fence a
// write on the worker's session (see StillAsSeen).
func Key(id string) map[string]types.AttributeValue { return key(id) }

// StillAsSeen returns the condition, for a ConditionCheck on the registry
// item (Key(st.WorkerID)), that the session seen dead in st did not come
// back: the item is gone, holds another session, or holds the same one
// with the lease seen. Names and values it adds are prefixed with "#ws_"
// and ":ws_".
func StillAsSeen(st SessionState, names map[string]string, values map[string]types.AttributeValue) string {
	names["#ws_pk"] = resources.CatalogPK
	names["#ws_session"] = "session"
	values[":ws_session"] = str(st.ID)
	values[":ws_lease"] = num(st.LeaseUntil.UnixMilli())
	return "attribute_not_exists(#ws_pk) OR attribute_not_exists(#ws_session) OR #ws_session <> :ws_session OR lease_until = :ws_lease"
}

// StillWithout returns the condition, for a ConditionCheck on the registry
// item (Key(st.WorkerID)), that the session in st still does not record
// the attempt (see Abandoned), or is gone. Names and values it adds are
// prefixed with "#ws_" and ":ws_".
func StillWithout(st SessionState, executionID string, attempt int, names map[string]string, values map[string]types.AttributeValue) string {
	names["#ws_session"] = "session"
	names["#ws_eid"] = executionID
	values[":ws_session"] = str(st.ID)
	values[":ws_attempt"] = num(int64(attempt))
	return "attribute_not_exists(#ws_session) OR #ws_session <> :ws_session OR attribute_not_exists(runs.#ws_eid) OR runs.#ws_eid <> :ws_attempt"
}

// Register records a starting worker (see the package rules), opens a new
// session for it whose lease runs for lease, and returns its stored record
// (whose Enabled says whether it may take work), the session, and the
// worker id's previous session as it was replaced: if it ended without
// signing off (its process was killed, or lost its session), its Runs are
// lost and the caller must recover them (with that state: the takeover is
// fenced on it). A previous session whose lease has not run out is
// ErrSessionLive.
func (s *Store) Register(ctx context.Context, r Registration, lease time.Duration) (Worker, Session, SessionState, error) {
	if err := r.Validate(); err != nil {
		return Worker{}, Session{}, SessionState{}, err
	}
	if lease <= 0 {
		return Worker{}, Session{}, SessionState{}, fmt.Errorf("register worker %s: the lease must be positive, not %s", r.ID, lease)
	}
	prev, err := s.SessionOf(ctx, r.ID)
	if err != nil {
		return Worker{}, Session{}, SessionState{}, err
	}
	now := s.now()
	if prev.ID != "" && prev.Holds(prev.ID, now) {
		return Worker{}, Session{}, SessionState{}, fmt.Errorf("register worker %s: %w until %s (session %s); another process with this id? "+
			"give each worker its own SCALEOUT_WORKER_ID", r.ID, ErrSessionLive, prev.LeaseUntil.Format(time.RFC3339), prev.ID)
	}
	if prev.SignedOff {
		prev.Runs = nil // it handed everything back
	}
	pools, err := attributevalue.Marshal(r.Pools)
	if err != nil {
		return Worker{}, Session{}, SessionState{}, fmt.Errorf("encode pools: %w", err)
	}
	if r.Pools == nil {
		pools = &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
	}
	tags := map[string]types.AttributeValue{}
	for k, v := range r.Tags {
		tags[k] = str(v)
	}
	sess := Session{WorkerID: r.ID, ID: uuid.NewString(), LeaseUntil: now.Add(lease).UTC().Truncate(time.Millisecond)}
	values := map[string]types.AttributeValue{
		":machine": str(r.Machine), ":pools": pools, ":max": num(int64(r.MaxTasks)), ":version": str(r.Version),
		":zero": num(0), ":true": &types.AttributeValueMemberBOOL{Value: true}, ":id": str(r.ID),
		":empty": str(""), ":tags": &types.AttributeValueMemberM{Value: tags},
		":session": str(sess.ID), ":lease": num(sess.LeaseUntil.UnixMilli()), ":lease_ms": num(lease.Milliseconds()),
	}
	names := map[string]string{"#pk": resources.CatalogPK}
	cond := "attribute_not_exists(#pk) OR attribute_not_exists(#session)"
	names["#session"] = "session"
	if prev.ID != "" {
		cond = "#session = :prev AND lease_until = :prev_lease"
		values[":prev"] = str(prev.ID)
		values[":prev_lease"] = num(prev.LeaseUntil.UnixMilli())
		delete(names, "#pk")
	}
	hb, remove := s.heartbeatSet(now, values)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key:       key(r.ID),
		UpdateExpression: aws.String("SET machine = :machine, pools = :pools, max_tasks = :max, version = :version, " +
			"running = :zero, registered_at = if_not_exists(registered_at, :now), " +
			"enabled = if_not_exists(enabled, :true), display_name = if_not_exists(display_name, :id), " +
			"description = if_not_exists(description, :empty), tags = if_not_exists(tags, :tags), " +
			"#session = :session, lease_until = :lease, lease_ms = :lease_ms, " + hb + " REMOVE runs, stops, signed_off" + remove),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return Worker{}, Session{}, SessionState{}, fmt.Errorf("register worker %s: %w (another process registered the same id at the same time)", r.ID, ErrSessionLive)
	}
	if err != nil {
		return Worker{}, Session{}, SessionState{}, fmt.Errorf("register worker %s: %w", r.ID, err)
	}
	w, _, err := s.decode(out.Attributes, now)
	return w, sess, prev, err
}

// Renew extends sess's lease to until and records what it runs (runs) and
// how many (running: the manager's figure), removes the stop requests it
// handled, and returns the signals for the worker. It is conditional on
// sess being the worker's current session with a lease that has not run
// out: otherwise ErrSessionLost (scaleouttype.ErrNotFound once the worker was removed).
func (s *Store) Renew(ctx context.Context, sess Session, until time.Time, runs []Run, handled []string) (Signals, error) {
	now := s.now()
	m := make(map[string]types.AttributeValue, len(runs))
	for _, r := range runs {
		m[r.ExecutionID] = num(int64(r.Attempt))
	}
	values := map[string]types.AttributeValue{
		":session": str(sess.ID), ":lease": num(until.UnixMilli()), ":nowms": num(now.UnixMilli()),
		":runs": &types.AttributeValueMemberM{Value: m}, ":running": num(int64(len(runs))),
	}
	hb, remove := s.heartbeatSet(now, values)
	update := "SET lease_until = :lease, runs = :runs, running = :running, " + hb
	if len(handled) > 0 {
		values[":handled"] = &types.AttributeValueMemberSS{Value: handled}
		update += " DELETE stops :handled"
	}
	if remove != "" {
		update += remove
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 key(sess.WorkerID),
		ConditionExpression:                 aws.String("#session = :session AND lease_until > :nowms"),
		UpdateExpression:                    aws.String(update),
		ExpressionAttributeNames:            map[string]string{"#session": "session"},
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if len(ccf.Item) == 0 {
			return Signals{}, fmt.Errorf("renew session of worker %s: %w", sess.WorkerID, scaleouttype.ErrNotFound)
		}
		st, _ := decodeSession(sess.WorkerID, ccf.Item)
		if st.ID != sess.ID {
			return Signals{}, fmt.Errorf("renew session %s of worker %s: replaced by session %s: %w", sess.ID, sess.WorkerID, st.ID, ErrSessionLost)
		}
		return Signals{}, fmt.Errorf("renew session %s of worker %s: its lease ran out at %s: %w", sess.ID, sess.WorkerID,
			st.LeaseUntil.Format(time.RFC3339Nano), ErrSessionLost)
	}
	if err != nil {
		return Signals{}, fmt.Errorf("renew session of worker %s: %w", sess.WorkerID, err)
	}
	return signalsOf(out.Attributes)
}

func signalsOf(av map[string]types.AttributeValue) (Signals, error) {
	var f struct {
		Enabled bool     `dynamodbav:"enabled"`
		Stops   []string `dynamodbav:"stops,stringset"`
		Session string   `dynamodbav:"session"`
	}
	if err := attributevalue.UnmarshalMap(av, &f); err != nil {
		return Signals{}, fmt.Errorf("decode worker signals: %w", err)
	}
	return Signals(f), nil
}

// Signals reads what the worker must know between renewals: whether it is
// enabled and which executions to stop. It is one eventually consistent
// read of the registry item's few small attributes (half a read unit),
// which writes nothing: a worker may call it every few seconds. A removed
// worker gets scaleouttype.ErrNotFound.
func (s *Store) Signals(ctx context.Context, id string) (Signals, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(id),
		ProjectionExpression:     aws.String("enabled, stops, #session"),
		ExpressionAttributeNames: map[string]string{"#session": "session"},
	})
	if err != nil {
		return Signals{}, fmt.Errorf("read the signals of worker %s: %w", id, err)
	}
	if out.Item == nil {
		return Signals{}, fmt.Errorf("worker %s: %w", id, scaleouttype.ErrNotFound)
	}
	return signalsOf(out.Item)
}

// SessionOf reads worker id's current session (strongly consistent), for
// deciding whether an execution's holder is alive. A worker with no item
// has a SessionState with Exists false.
func (s *Store) SessionOf(ctx context.Context, id string) (SessionState, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(id),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#session, lease_until, runs, signed_off, last_heartbeat, lease_ms"),
		ExpressionAttributeNames: map[string]string{"#session": "session"},
	})
	if err != nil {
		return SessionState{}, fmt.Errorf("read the session of worker %s: %w", id, err)
	}
	return decodeSession(id, out.Item)
}

// RequestStop adds execution id to the stop requests of sess, for a caller
// that writes it in a transaction with the execution's own change: it
// returns the Update (on Key(workerID)), conditional on sess being the
// worker's current session.
func RequestStop(table, workerID, session, executionID string) *types.Update {
	return &types.Update{
		TableName:                aws.String(table),
		Key:                      key(workerID),
		ConditionExpression:      aws.String("#session = :session"),
		UpdateExpression:         aws.String("ADD stops :stop"),
		ExpressionAttributeNames: map[string]string{"#session": "session"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":session": str(session), ":stop": &types.AttributeValueMemberSS{Value: []string{executionID}},
		},
	}
}

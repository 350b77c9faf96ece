package execstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/aws/secrets"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/worker/registry"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Store reads and writes executions in one table.
type Store struct {
	db    *dynamodb.Client
	table string
	// catalog holds the worker registry, whose sessions hold executions'
	// attempts (see Claim); sessions reads it.
	catalog  string
	sessions *registry.Store
	// SessionCacheFor, when set, lets one read of a worker's session serve
	// the decisions about all its executions for that long: a reconciler
	// pass asks for the session of every running execution, and a few
	// sessions hold many of them. A session seen alive that died since only
	// delays a recovery until the entry is stale; one seen dead that came
	// back cannot be acted on (the recovery's transaction checks that the
	// session is as seen). Zero: every decision reads the session.
	SessionCacheFor time.Duration
	// sessionCache holds recent session reads (see holder).
	cacheMu      sync.Mutex
	sessionCache map[string]cachedSession
	// Retention is how long an execution is kept after it is created
	// (DynamoDB TTL). Zero keeps it forever.
	Retention time.Duration
	// Sealer, when set, seals the values of sensitive parameters before
	// they are stored (see execution.SealParameters).
	Sealer secrets.Sealer
	// marks are the day markers this store wrote (see days.go).
	marks dayMarks
}

// New returns a store on the named executions table; catalog is the
// catalog table, where the worker registry keeps the sessions that hold
// executions' attempts.
func New(db *dynamodb.Client, table, catalog string) *Store {
	return &Store{db: db, table: table, catalog: catalog, sessions: registry.NewStore(db, catalog),
		Retention: 90 * 24 * time.Hour}
}

// item is the stored shape of an execution.
type item struct {
	ID             string                  `dynamodbav:"id"`
	Folder         string                  `dynamodbav:"folder"`
	Project        string                  `dynamodbav:"project"`
	Package        string                  `dynamodbav:"package"`
	Pool           string                  `dynamodbav:"pool"`
	Status         string                  `dynamodbav:"status"`
	Definition     string                  `dynamodbav:"definition,omitempty"` // JSON
	Parameters     string                  `dynamodbav:"parameters,omitempty"` // JSON object
	Sensitive      []string                `dynamodbav:"sensitive,omitempty,stringset"`
	Sealed         map[string]string       `dynamodbav:"sealed_parameters,omitempty"`
	ProjectVersion int                     `dynamodbav:"project_version,omitempty"`
	ProjectUID     string                  `dynamodbav:"project_uid,omitempty"`
	Retries        int                     `dynamodbav:"retries,omitempty"`
	LostRetries    int                     `dynamodbav:"lost_retries"`
	TimeoutMS      int64                   `dynamodbav:"timeout_ms,omitempty"`
	Attempt        int                     `dynamodbav:"attempt"`
	WorkerID       string                  `dynamodbav:"worker_id,omitempty"`
	Session        string                  `dynamodbav:"session,omitempty"`
	CreatedAt      int64                   `dynamodbav:"created_at"` // unix ms
	StartedAt      int64                   `dynamodbav:"started_at,omitempty"`
	EndedAt        int64                   `dynamodbav:"ended_at,omitempty"`
	Error          string                  `dynamodbav:"error,omitempty"`
	Tasks          []execution.TaskSummary `dynamodbav:"tasks,omitempty"`
	TasksOmitted   int                     `dynamodbav:"tasks_omitted,omitempty"`
	ExpiresAt      int64                   `dynamodbav:"expires_at,omitempty"` // unix s, TTL
	Attempts       []attemptItem           `dynamodbav:"attempts,omitempty"`
	EnqueuedAt     int64                   `dynamodbav:"enqueued_at,omitempty"` // unix ms
	NotBefore      int64                   `dynamodbav:"not_before,omitempty"`  // unix ms
	Requeues       int                     `dynamodbav:"requeues,omitempty"`
	CallbackURL    string                  `dynamodbav:"callback_url,omitempty"`
	// Index keys (see resources.ByPackage and the others, and keys.go).
	PackageKey string `dynamodbav:"package_key"`
	FolderKey  string `dynamodbav:"folder_key"`
	DayKey     string `dynamodbav:"day_key"`
	StatusKey  string `dynamodbav:"status_key,omitempty"` // only while not final
	CreatedKey string `dynamodbav:"created_key"`
}

// attemptItem is the stored shape of an execution.AttemptRecord.
type attemptItem struct {
	Attempt   int    `dynamodbav:"attempt"`
	WorkerID  string `dynamodbav:"worker_id"`
	StartedAt int64  `dynamodbav:"started_at"` // unix ms
	EndedAt   int64  `dynamodbav:"ended_at"`
	Outcome   string `dynamodbav:"outcome"`
	Reason    string `dynamodbav:"reason,omitempty"`
}

func toAttemptItem(r execution.AttemptRecord) attemptItem {
	a := attemptItem{Attempt: r.Attempt, WorkerID: r.WorkerID, EndedAt: ms(r.EndedAt), Outcome: string(r.Outcome),
		Reason: execution.Clip(r.Reason, execution.MaxReasonBytes)}
	if !r.StartedAt.IsZero() {
		a.StartedAt = ms(r.StartedAt)
	}
	return a
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) *time.Time {
	if v == 0 {
		return nil
	}
	t := time.UnixMilli(v).UTC()
	return &t
}

func toItem(e execution.Execution, retention time.Duration) (item, error) {
	it := item{
		ID: e.ID, Folder: e.Folder, Project: e.Project, Package: e.Package, Pool: e.Pool,
		Status: string(e.Status), Definition: string(e.Definition), Sensitive: e.Sensitive, Sealed: e.SealedParameters, ProjectVersion: e.ProjectVersion, ProjectUID: e.ProjectUID, Retries: e.Retries, LostRetries: e.LostRetries, TimeoutMS: e.TimeoutMS,
		Attempt: e.Attempt, WorkerID: e.WorkerID, Session: e.Session, CreatedAt: ms(e.CreatedAt), Error: e.Error, Tasks: e.Tasks, TasksOmitted: e.TasksOmitted, CallbackURL: e.CallbackURL,
		PackageKey: packageKey(e.Ref(), e.ID), FolderKey: folderKey(e.Folder, e.ID), DayKey: dayKey(e.CreatedAt, e.ID),
		StatusKey: statusKey(e.ID, e.Status), CreatedKey: createdKey(e.CreatedAt, e.ID),
	}
	if e.EnqueuedAt != nil {
		it.EnqueuedAt = ms(*e.EnqueuedAt)
	}
	if e.NotBefore != nil {
		it.NotBefore = ms(*e.NotBefore)
	}
	for _, a := range e.Attempts {
		it.Attempts = append(it.Attempts, toAttemptItem(a))
	}
	if len(e.Parameters) > 0 {
		b, err := json.Marshal(e.Parameters)
		if err != nil {
			return it, fmt.Errorf("encode parameters: %w", err)
		}
		it.Parameters = string(b)
	}
	if retention > 0 {
		it.ExpiresAt = e.CreatedAt.Add(retention).Unix()
	}
	return it, nil
}

// Decode turns a stored item into an execution.
func Decode(av map[string]types.AttributeValue) (execution.Execution, error) {
	var it item
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return execution.Execution{}, fmt.Errorf("decode execution item: %w", err)
	}
	created := time.UnixMilli(it.CreatedAt).UTC()
	e := execution.Execution{
		ID: it.ID, Folder: it.Folder, Project: it.Project, Package: it.Package, Pool: it.Pool,
		Status: execution.Status(it.Status), Sensitive: it.Sensitive, SealedParameters: it.Sealed, ProjectVersion: it.ProjectVersion, ProjectUID: it.ProjectUID, Retries: it.Retries, LostRetries: it.LostRetries, TimeoutMS: it.TimeoutMS, Attempt: it.Attempt,
		WorkerID: it.WorkerID, Session: it.Session, CreatedAt: created,
		StartedAt: fromMS(it.StartedAt), EndedAt: fromMS(it.EndedAt), Error: it.Error, Tasks: it.Tasks, TasksOmitted: it.TasksOmitted,
		EnqueuedAt: fromMS(it.EnqueuedAt), NotBefore: fromMS(it.NotBefore), Requeues: it.Requeues, CallbackURL: it.CallbackURL,
	}
	for _, a := range it.Attempts {
		r := execution.AttemptRecord{Attempt: a.Attempt, WorkerID: a.WorkerID, EndedAt: time.UnixMilli(a.EndedAt).UTC(),
			Outcome: execution.Outcome(a.Outcome), Reason: a.Reason}
		if a.StartedAt != 0 {
			r.StartedAt = time.UnixMilli(a.StartedAt).UTC()
		}
		e.Attempts = append(e.Attempts, r)
	}
	if it.Definition != "" {
		e.Definition = json.RawMessage(it.Definition)
	}
	if it.Parameters != "" {
		dec := json.NewDecoder(strings.NewReader(it.Parameters))
		dec.UseNumber()
		if err := dec.Decode(&e.Parameters); err != nil {
			return e, fmt.Errorf("decode parameters of execution %s: %w", it.ID, err)
		}
	}
	return e, nil
}

// put is the conditional write that creates e.
func (s *Store) put(e execution.Execution) (*types.Put, error) {
	if _, err := execution.TransitionOf(execution.OpSubmit, e.Status); err != nil {
		return nil, fmt.Errorf("create execution %s: %w", e.ID, err)
	}
	it, err := toItem(e, s.Retention)
	if err != nil {
		return nil, fmt.Errorf("encode execution %s: %w", e.ID, err)
	}
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("encode execution %s: %w", e.ID, err)
	}
	if err := checkSubmittedSize(e, av); err != nil {
		return nil, err
	}
	names := map[string]string{}
	return &types.Put{
		TableName:                aws.String(s.table),
		Item:                     av,
		ConditionExpression:      aws.String(statusCondition(execution.OpSubmit, e.Status, names, nil)),
		ExpressionAttributeNames: names,
	}, nil
}

// Create stores a new execution; its id must be unused.
func (s *Store) Create(ctx context.Context, e execution.Execution) error {
	e, err := execution.SealParameters(ctx, e, s.Sealer)
	if err != nil {
		return err
	}
	put, err := s.put(e)
	if err != nil {
		return err
	}
	if err := s.markDay(ctx, e.CreatedAt, e.ID); err != nil {
		return fmt.Errorf("create execution %s: %w", e.ID, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: put.TableName, Item: put.Item, ConditionExpression: put.ConditionExpression,
		ExpressionAttributeNames: put.ExpressionAttributeNames,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("create execution %s: %w", e.ID, execution.ErrExists)
	}
	if tooLarge(err) {
		return fmt.Errorf("create execution %s: %w: %w", e.ID, execution.ErrTooLarge, err)
	}
	if err != nil {
		return fmt.Errorf("create execution %s: %w", e.ID, err)
	}
	return nil
}

// Get reads one execution (strongly consistent).
func (s *Store) Get(ctx context.Context, id string) (execution.Execution, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return execution.Execution{}, fmt.Errorf("get execution %s: %w", id, err)
	}
	if out.Item == nil {
		return execution.Execution{}, fmt.Errorf("execution %s: %w", id, scaleouttype.ErrNotFound)
	}
	return Decode(out.Item)
}

func key(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{resources.ExecutionKey: &types.AttributeValueMemberS{Value: id}}
}

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// leaseCondition is the condition of op's write, moving the attempt that
// holds l to status to: the status part from the status table, fenced on
// l's worker, session and attempt.
func leaseCondition(op execution.Op, to execution.Status, l execution.Lease, names map[string]string, values map[string]types.AttributeValue) string {
	names["#session"] = "session"
	values[":worker"] = str(l.WorkerID)
	values[":session"] = str(l.Session)
	values[":attempt"] = num(int64(l.Attempt))
	return statusCondition(op, to, names, values) + " AND worker_id = :worker AND #session = :session AND attempt = :attempt"
}

// Finish records the final result of the attempt that holds l, cut to
// what an execution keeps (execution.Result.Fit). A write DynamoDB refuses
// as too large gives an error matching execution.ErrTooLarge.
func (s *Store) Finish(ctx context.Context, l execution.Lease, r execution.Result, now time.Time) (execution.Execution, error) {
	if !r.Status.Final() {
		return execution.Execution{}, fmt.Errorf("finish execution %s: %q is not a final status", l.ID, r.Status)
	}
	r = r.Fit()
	tasksAV, err := attributevalue.Marshal(r.Tasks)
	if err != nil {
		return execution.Execution{}, fmt.Errorf("encode task summaries of %s: %w", l.ID, err)
	}
	values := map[string]types.AttributeValue{
		":now":     num(ms(now)),
		":err":     str(r.Error),
		":tasks":   tasksAV,
		":omitted": num(int64(r.TasksOmitted)),
	}
	set := withStatusKey("SET "+setStatus(r.Status, values)+", ended_at = :now, #error = :err, tasks = :tasks, tasks_omitted = :omitted", l.ID, r.Status, values)
	names := map[string]string{"#error": "error"}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 key(l.ID),
		ConditionExpression:                 aws.String(leaseCondition(execution.OpFinish, r.Status, l, names, values)),
		UpdateExpression:                    aws.String(set),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		err = s.leaseLost(l, err)
		var lost execution.LeaseLost
		if errors.As(err, &lost) && lost.Current != nil && finishedBy(*lost.Current, l, r.Status, now) {
			// This very write applied, and its response was lost: the SDK
			// sent it again (a large item's response is more exposed).
			return *lost.Current, nil
		}
		return execution.Execution{}, err
	}
	return Decode(out.Attributes)
}

// finishedBy reports whether cur is what Finish under l wrote at now with
// status: the same attempt of the same session, ended then so.
func finishedBy(cur execution.Execution, l execution.Lease, status execution.Status, now time.Time) bool {
	return cur.Status == status && cur.WorkerID == l.WorkerID && cur.Session == l.Session && cur.Attempt == l.Attempt &&
		cur.EndedAt != nil && cur.EndedAt.UnixMilli() == now.UnixMilli()
}

// Fail moves an execution that no worker holds (pending) to failed, for
// example when it could not be enqueued.
func (s *Store) Fail(ctx context.Context, id, reason string, now time.Time) error {
	values := map[string]types.AttributeValue{
		":now": num(ms(now)),
		":err": str(reason),
	}
	names := map[string]string{"#error": "error"}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 key(id),
		ConditionExpression:                 aws.String(statusCondition(execution.OpFail, execution.Failed, names, values)),
		UpdateExpression:                    aws.String(withStatusKey("SET "+setStatus(execution.Failed, values)+", ended_at = :now, #error = :err", id, execution.Failed, values)),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return s.conflict(id, "pending", err)
	}
	return nil
}

func (s *Store) conflict(id, want string, err error) error {
	var ccf *types.ConditionalCheckFailedException
	if tooLarge(err) {
		return fmt.Errorf("update execution %s: %w: %w", id, execution.ErrTooLarge, err)
	}
	if !errors.As(err, &ccf) {
		return fmt.Errorf("update execution %s: %w", id, err)
	}
	c := &execution.ConflictError{ID: id, Want: want}
	if len(ccf.Item) == 0 {
		return fmt.Errorf("execution %s: %w: %w", id, scaleouttype.ErrNotFound, c)
	}
	if cur, derr := Decode(ccf.Item); derr == nil {
		c.Current = &cur
	}
	return c
}

func (s *Store) leaseLost(l execution.Lease, err error) error {
	want := fmt.Sprintf("held by worker %q attempt %d", l.WorkerID, l.Attempt)
	c := s.conflict(l.ID, want, err)
	var ce *execution.ConflictError
	if errors.As(c, &ce) {
		return execution.LeaseLost{ConflictError: ce}
	}
	return c
}

package execstore

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/worker/registry"
)

// The store's writes follow the status table: the only status conditions
// and status assignments written out are transition.go's (built from
// execution.Transitions), besides status.go's read filter, and every
// operation of the table is one the store performs.
func TestStoreFollowsTransitionTable(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	used := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if n.Kind != token.STRING || name == "transition.go" || name == "status.go" {
					return true
				}
				s, err := strconv.Unquote(n.Value)
				require.NoError(t, err)
				require.NotContains(t, s, "#status", "%s: a status condition or assignment written by hand; build it "+
					"with statusCondition and setStatus, from the status table (execution.Transitions)", fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && x.Name == "execution" && strings.HasPrefix(n.Sel.Name, "Op") && n.Sel.Name != "Op" {
					used[n.Sel.Name] = true
				}
			}
			return true
		})
	}
	names := map[execution.Op]string{
		execution.OpSubmit: "OpSubmit", execution.OpRequeue: "OpRequeue", execution.OpClaim: "OpClaim", execution.OpFail: "OpFail",
		execution.OpStop: "OpStop", execution.OpFinish: "OpFinish", execution.OpRetry: "OpRetry", execution.OpRelease: "OpRelease",
		execution.OpTakeOver: "OpTakeOver", execution.OpRecover: "OpRecover",
	}
	for _, op := range execution.Ops() {
		require.Contains(t, names, op, "name the new operation %q here", op)
		require.True(t, used[names[op]], "the status table has %q, which no write of this store names", op)
	}
	require.Len(t, used, len(execution.Ops()), "every operation the store names is in the table")

	// Every row renders, with a placeholder for each From status.
	for _, tr := range execution.Transitions {
		names, values := map[string]string{}, map[string]types.AttributeValue{}
		cond := statusCondition(tr.Op, tr.To, names, values)
		if tr.Op == execution.OpSubmit {
			require.Equal(t, "attribute_not_exists(#id)", cond)
			continue
		}
		require.Equal(t, map[string]string{"#status": "status"}, names)
		var from []execution.Status
		for _, f := range tr.From {
			require.Contains(t, cond, ":from_"+string(f))
			from = append(from, execution.Status(values[":from_"+string(f)].(*types.AttributeValueMemberS).Value))
		}
		require.Equal(t, tr.From, from, "%s -> %s: %s", tr.Op, tr.To, cond)
		require.Len(t, values, len(tr.From))
	}
}

// The conditions as DynamoDB applies them (on DynamoDB Local) agree with
// the status table: for every row and every status an execution may be
// stored in, the row's operation moves an execution in one of the row's
// From statuses to its To status, and refuses any other with a domain
// error (a *execution.ConflictError, or for a lost attempt whose status
// changed under the recovery, the error to look again), leaving it as it
// was. The fences (worker, session, attempt) are met, so the status alone
// decides.
func TestTransitionConformance(t *testing.T) {
	t.Parallel()
	env := testenv.AWS(t)
	db := env.Clients.DynamoDB
	s := New(db, env.Set.Executions.Name, env.Set.Catalog.Name)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	_, live, _, err := registry.NewStore(db, env.Set.Catalog.Name).Register(ctx,
		registry.Registration{ID: testenv.Name("w"), Machine: "m", Pools: []string{"default"}, MaxTasks: 1}, time.Hour)
	require.NoError(t, err)

	// seed stores an execution in status st, held (whatever st) by the
	// live session, or by a dead one (a worker never registered).
	seed := func(t *testing.T, st execution.Status, dead bool, lostRetries int) execution.Execution {
		e := execution.Execution{
			ID: uuid.Must(uuid.NewV7()).String(), Folder: "f", Project: "p", Package: testenv.Name("pkg"), Pool: "default",
			Status: st, Definition: []byte(`{}`), CreatedAt: now, StartedAt: &now, Attempt: 1,
			WorkerID: live.WorkerID, Session: live.ID, LostRetries: lostRetries,
		}
		if dead {
			e.WorkerID, e.Session = testenv.Name("dead"), uuid.NewString()
		}
		it, err := toItem(e, time.Hour)
		require.NoError(t, err)
		av, err := attributevalue.MarshalMap(it)
		require.NoError(t, err)
		_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: av})
		require.NoError(t, err)
		return e
	}
	rec := execution.AttemptRecord{EndedAt: now}
	// do performs tr's operation on e, as a caller that read it in the
	// status of tr.From[0] (the stored status may be another).
	do := func(tr execution.Transition, e execution.Execution) error {
		if len(tr.From) > 0 {
			e.Status = tr.From[0]
		}
		l := execution.LeaseOf(e)
		var err error
		switch tr.Op {
		case execution.OpRequeue:
			err = s.MarkEnqueued(ctx, e, now)
		case execution.OpClaim:
			_, err = s.Claim(ctx, e.ID, live, now)
		case execution.OpFail:
			err = s.Fail(ctx, e.ID, "could not enqueue", now)
		case execution.OpStop:
			_, err = s.Stop(ctx, e.ID, now)
		case execution.OpFinish:
			_, err = s.Finish(ctx, l, execution.Result{Status: tr.To}, now)
		case execution.OpRetry:
			_, err = s.Retry(ctx, l, rec, now.Add(time.Minute))
		case execution.OpRelease:
			_, err = s.Release(ctx, l, rec)
		case execution.OpTakeOver:
			_, err = s.lost(ctx, e, registry.SessionState{}, &live, now)
		case execution.OpRecover:
			_, err = s.Recover(ctx, e, now, now)
		default:
			t.Fatalf("no case for the operation %q: add one", tr.Op)
		}
		return err
	}
	// Stop is one call for two rows: where it goes depends on the stored
	// status, not on the caller.
	storedDecides := map[execution.Op]bool{execution.OpStop: true}

	for _, tr := range execution.Transitions {
		for _, st := range execution.Statuses {
			t.Run(string(tr.Op)+"_to_"+string(tr.To)+"/from_"+string(st), func(t *testing.T) {
				t.Parallel()
				dead := tr.Op == execution.OpTakeOver || tr.Op == execution.OpRecover
				lostRetries := 1
				if tr.To == execution.EndedUnexpectedly {
					lostRetries = 0
				}
				e := seed(t, st, dead, lostRetries)
				if tr.Op == execution.OpSubmit {
					fresh := e
					fresh.ID, fresh.Status = uuid.Must(uuid.NewV7()).String(), tr.To
					require.NoError(t, s.Create(ctx, fresh))
					got, err := s.Get(ctx, fresh.ID)
					require.NoError(t, err)
					require.Equal(t, tr.To, got.Status)
					fresh.ID = e.ID
					require.ErrorIs(t, s.Create(ctx, fresh), execution.ErrExists, "an id in use, %s", st)
					return
				}
				want, ok := tr.To, tr.Allows(st)
				if !ok && storedDecides[tr.Op] {
					for _, other := range execution.Transitions {
						if other.Op == tr.Op && other.Allows(st) {
							want, ok = other.To, true
						}
					}
				}
				err := do(tr, e)
				got, gerr := s.Get(ctx, e.ID)
				require.NoError(t, gerr)
				if ok {
					require.NoError(t, err, "%s from %s", tr.Op, st)
					require.Equal(t, want, got.Status, "%s from %s", tr.Op, st)
					return
				}
				var ce *execution.ConflictError
				require.True(t, errors.As(err, &ce) || errors.Is(err, errTryAgain), "%s from %s: want a conflict, got %v", tr.Op, st, err)
				require.Equal(t, st, got.Status, "%s from %s: refused, and left as it was", tr.Op, st)
			})
		}
	}
}

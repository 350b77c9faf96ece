package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// dynamoStorage is the Storage on the DynamoDB catalog table; the item
// layout is in the package documentation. Conditions that fail map to the
// Storage errors here, at the adapter's edge.
type dynamoStorage struct {
	db    *dynamodb.Client
	table string
	log   *slog.Logger
}

var _ Storage = (*dynamoStorage)(nil)

// Keys of the single-table layout (see the package documentation).
const (
	foldersPK     = resources.CatalogFolders
	folderPrefix  = resources.CatalogFolderPrefix
	projectPrefix = resources.CatalogProjectPrefix
	envPrefix     = resources.CatalogEnvPrefix
	versionPrefix = resources.CatalogVersionPrefix
)

func folderKey(f string) map[string]types.AttributeValue {
	return keyOf(foldersPK, folderPrefix+f)
}

func projectKey(f, p string) map[string]types.AttributeValue {
	return keyOf(folderPrefix+f, projectPrefix+p)
}

func envKey(f, e string) map[string]types.AttributeValue {
	return keyOf(folderPrefix+f, envPrefix+e)
}

// versionsPK is the partition of one incarnation of a project: a project
// deleted and created again gets a new uid, so a late clean-up of the old
// one can never touch the new one's versions.
func versionsPK(f, p, uid string) string { return projectPrefix + f + "/" + p + "#" + uid }

func versionSK(n int) string { return fmt.Sprintf("%s%010d", versionPrefix, n) }

func keyOf(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{resources.CatalogPK: str(pk), resources.CatalogSK: str(sk)}
}

// canceled returns the cancellation reason codes of a failed transaction
// ("None", "ConditionalCheckFailed", "TransactionConflict", ...).
func canceled(err error) ([]string, bool) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, false
	}
	codes := make([]string, len(tce.CancellationReasons))
	for i, r := range tce.CancellationReasons {
		codes[i] = aws.ToString(r.Code)
	}
	return codes, true
}

// failedAt reports whether the transaction item at i failed its condition.
func failedAt(codes []string, i int) bool {
	return i < len(codes) && codes[i] == "ConditionalCheckFailed"
}

// contended reports whether err is a lost race that a retry may win.
func contended(err error) bool {
	if codes, ok := canceled(err); ok {
		for _, c := range codes {
			if c == "ConditionalCheckFailed" || c == "TransactionConflict" {
				return true
			}
		}
		return false
	}
	var tc *types.TransactionConflictException
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &tc) || errors.As(err, &ccf)
}

// failed maps a write's error: a failed condition (or transaction
// conflict) to ErrConflict, others wrapped with what was done.
func failed(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if contended(err) {
		return fmt.Errorf(format+": %w", append(args, ErrConflict)...)
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

func (d *dynamoStorage) get(ctx context.Context, key map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	in := &dynamodb.GetItemInput{TableName: aws.String(d.table), Key: key, ConsistentRead: aws.Bool(true)}
	out, err := d.db.GetItem(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// getItem reads one item into out; ErrNotFound when it is missing.
func (d *dynamoStorage) getItem(ctx context.Context, key map[string]types.AttributeValue, what string, out any) error {
	av, err := d.get(ctx, key)
	if err != nil {
		return fmt.Errorf("get %s: %w", what, err)
	}
	if av == nil {
		return fmt.Errorf("%s: %w", what, scaleouttype.ErrNotFound)
	}
	if err := attributevalue.UnmarshalMap(av, out); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	return nil
}

// queryAll reads every item of a partition whose sort key starts with
// prefix, only the attributes named (all when none are).
func (d *dynamoStorage) queryAll(ctx context.Context, pk, prefix string, attrs ...string) ([]map[string]types.AttributeValue, error) {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(d.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames: map[string]string{"#pk": resources.CatalogPK, "#sk": resources.CatalogSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(pk), ":prefix": str(prefix),
		},
		ConsistentRead: aws.Bool(true),
	}
	if len(attrs) > 0 {
		proj := make([]string, len(attrs))
		for i, a := range attrs {
			proj[i] = fmt.Sprintf("#a%d", i)
			in.ExpressionAttributeNames[proj[i]] = a
		}
		in.ProjectionExpression = aws.String(strings.Join(proj, ", "))
	}
	var items []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(d.db, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		items = append(items, out.Items...)
	}
	return items, nil
}

// putNew is the Put of item (its key added) conditional on no item
// having its key.
func (d *dynamoStorage) putNew(key map[string]types.AttributeValue, item any) (*types.Put, error) {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return nil, err
	}
	for k, v := range key {
		av[k] = v
	}
	return &types.Put{
		TableName:                aws.String(d.table),
		Item:                     av,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": resources.CatalogPK},
	}, nil
}

// folderCount is the transaction item that changes a folder's count of
// projects or environments by delta; it fails when the folder is gone.
func (d *dynamoStorage) folderCount(folder, counter string, delta int64) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                aws.String(d.table),
		Key:                      folderKey(folder),
		ConditionExpression:      aws.String("attribute_exists(#pk)"),
		UpdateExpression:         aws.String("ADD #n :d"),
		ExpressionAttributeNames: map[string]string{"#pk": resources.CatalogPK, "#n": counter},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":d": num(delta),
		},
	}}
}

// deleteKeys deletes items by key, 25 at a time.
func (d *dynamoStorage) deleteKeys(ctx context.Context, keys []map[string]types.AttributeValue) error {
	for len(keys) > 0 {
		n := min(len(keys), 25)
		reqs := make([]types.WriteRequest, n)
		for i, k := range keys[:n] {
			reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}}
		}
		keys = keys[n:]
		pending := map[string][]types.WriteRequest{d.table: reqs}
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt == 5 {
				return fmt.Errorf("%d deletes left unprocessed", len(pending[d.table]))
			}
			if err := retry(ctx, attempt); err != nil {
				return err
			}
			out, err := d.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return err
			}
			pending = out.UnprocessedItems
		}
	}
	return nil
}

// Folders.

type folderItem struct {
	Name         string `dynamodbav:"name"`
	Description  string `dynamodbav:"description,omitempty"`
	CreatedAt    int64  `dynamodbav:"created_at"`
	Projects     int    `dynamodbav:"n_projects"`
	Environments int    `dynamodbav:"n_environments"`
}

func (it folderItem) folder() Folder {
	return Folder{Name: it.Name, Description: it.Description, CreatedAt: fromMS(it.CreatedAt),
		Projects: it.Projects, Environments: it.Environments}
}

func (d *dynamoStorage) CreateFolder(ctx context.Context, f Folder) error {
	put, err := d.putNew(folderKey(f.Name), folderItem{Name: f.Name, Description: f.Description, CreatedAt: ms(f.CreatedAt)})
	if err != nil {
		return fmt.Errorf("encode folder %q: %w", f.Name, err)
	}
	_, err = d.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: put.TableName, Item: put.Item,
		ConditionExpression: put.ConditionExpression, ExpressionAttributeNames: put.ExpressionAttributeNames})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("folder %q: %w", f.Name, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create folder %q: %w", f.Name, err)
	}
	return nil
}

func (d *dynamoStorage) GetFolder(ctx context.Context, name string) (Folder, error) {
	var it folderItem
	if err := d.getItem(ctx, folderKey(name), fmt.Sprintf("folder %q", name), &it); err != nil {
		return Folder{}, err
	}
	return it.folder(), nil
}

func (d *dynamoStorage) ListFolders(ctx context.Context, after string, limit int) ([]Folder, bool, error) {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(d.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames: map[string]string{"#pk": resources.CatalogPK, "#sk": resources.CatalogSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(foldersPK), ":prefix": str(folderPrefix),
		},
		Limit: aws.Int32(int32(limit)),
	}
	if after != "" {
		in.ExclusiveStartKey = folderKey(after)
	}
	out, err := d.db.Query(ctx, in)
	if err != nil {
		return nil, false, fmt.Errorf("list folders: %w", err)
	}
	folders := make([]Folder, 0, len(out.Items))
	for _, av := range out.Items {
		var it folderItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return nil, false, fmt.Errorf("decode folder item: %w", err)
		}
		folders = append(folders, it.folder())
	}
	return folders, len(out.LastEvaluatedKey) > 0, nil
}

func (d *dynamoStorage) DeleteFolder(ctx context.Context, name string) error {
	_, err := d.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                aws.String(d.table),
		Key:                      folderKey(name),
		ConditionExpression:      aws.String("attribute_exists(#pk) AND n_projects = :zero AND n_environments = :zero"),
		ExpressionAttributeNames: map[string]string{"#pk": resources.CatalogPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":zero": num(0),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if len(ccf.Item) == 0 {
			return fmt.Errorf("folder %q: %w", name, scaleouttype.ErrNotFound)
		}
		return fmt.Errorf("folder %q: %w", name, ErrNotEmpty)
	}
	if err != nil {
		return fmt.Errorf("delete folder %q: %w", name, err)
	}
	return nil
}

func (d *dynamoStorage) Names(ctx context.Context, kind Kind, folder string) ([]string, error) {
	pk, prefix := folderPrefix+folder, ""
	switch kind {
	case KindFolder:
		pk, prefix = foldersPK, folderPrefix
	case KindProject:
		prefix = projectPrefix
	case KindEnvironment:
		prefix = envPrefix
	default:
		return nil, fmt.Errorf("list names: unknown kind %q", kind)
	}
	items, err := d.queryAll(ctx, pk, prefix, resources.CatalogSK)
	if err != nil {
		return nil, fmt.Errorf("list %s names: %w", kind, err)
	}
	out := make([]string, 0, len(items))
	for _, av := range items {
		if sk, ok := av[resources.CatalogSK].(*types.AttributeValueMemberS); ok {
			out = append(out, strings.TrimPrefix(sk.Value, prefix))
		}
	}
	return out, nil
}

// Projects and their versions.

type projectItem struct {
	Name       string            `dynamodbav:"name"`
	Folder     string            `dynamodbav:"folder"`
	UID        string            `dynamodbav:"uid"`
	Latest     int               `dynamodbav:"latest"`
	CreatedAt  int64             `dynamodbav:"created_at"`
	DeployedAt int64             `dynamodbav:"deployed_at"`
	DeployedBy string            `dynamodbav:"deployed_by,omitempty"`
	References []EnvRef          `dynamodbav:"references,omitempty"`
	Bindings   map[string]string `dynamodbav:"bindings,omitempty"`
	ConfigRev  int               `dynamodbav:"config_rev,omitempty"`
}

func (it projectItem) record() ProjectRecord {
	return ProjectRecord{Folder: it.Folder, Name: it.Name, UID: it.UID, Latest: it.Latest,
		CreatedAt: fromMS(it.CreatedAt), DeployedAt: fromMS(it.DeployedAt), DeployedBy: it.DeployedBy,
		References: it.References, Bindings: it.Bindings, ConfigRev: it.ConfigRev}
}

func projectItemOf(p ProjectRecord) projectItem {
	return projectItem{Name: p.Name, Folder: p.Folder, UID: p.UID, Latest: p.Latest, CreatedAt: ms(p.CreatedAt),
		DeployedAt: ms(p.DeployedAt), DeployedBy: p.DeployedBy, References: p.References, Bindings: p.Bindings,
		ConfigRev: p.ConfigRev}
}

type versionItem struct {
	Version      int      `dynamodbav:"version"`
	DeployedAt   int64    `dynamodbav:"deployed_at"`
	DeployedBy   string   `dynamodbav:"deployed_by,omitempty"`
	RestoredFrom int      `dynamodbav:"restored_from,omitempty"`
	Packages     []string `dynamodbav:"packages"`
	Size         int      `dynamodbav:"size"`
	Bundle       []byte   `dynamodbav:"bundle,omitempty"`
}

func (it versionItem) record() VersionRecord {
	return VersionRecord{Version: it.Version, DeployedAt: fromMS(it.DeployedAt), DeployedBy: it.DeployedBy,
		RestoredFrom: it.RestoredFrom, Packages: it.Packages, Size: it.Size, Bundle: it.Bundle}
}

func (d *dynamoStorage) GetProject(ctx context.Context, folder, name string) (ProjectRecord, error) {
	var it projectItem
	if err := d.getItem(ctx, projectKey(folder, name), "project "+folder+"/"+name, &it); err != nil {
		return ProjectRecord{}, err
	}
	return it.record(), nil
}

func (d *dynamoStorage) Projects(ctx context.Context, folder string) ([]ProjectRecord, error) {
	items, err := d.queryAll(ctx, folderPrefix+folder, projectPrefix)
	if err != nil {
		return nil, fmt.Errorf("list projects of %q: %w", folder, err)
	}
	out := make([]ProjectRecord, 0, len(items))
	for _, av := range items {
		var it projectItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return nil, fmt.Errorf("decode project: %w", err)
		}
		out = append(out, it.record())
	}
	return out, nil
}

// AddVersion writes, in one transaction, the version and either the new
// project with its folder's count or the project's new latest.
func (d *dynamoStorage) AddVersion(ctx context.Context, p ProjectRecord, v VersionRecord) error {
	what := p.Folder + "/" + p.Name
	var items []types.TransactWriteItem
	if v.Version == 1 {
		put, err := d.putNew(projectKey(p.Folder, p.Name), projectItemOf(p))
		if err != nil {
			return fmt.Errorf("encode project %s: %w", what, err)
		}
		items = append(items, d.folderCount(p.Folder, "n_projects", 1), types.TransactWriteItem{Put: put})
	} else {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:                aws.String(d.table),
			Key:                      projectKey(p.Folder, p.Name),
			ConditionExpression:      aws.String("#uid = :uid AND #latest = :cur"),
			UpdateExpression:         aws.String("SET #latest = :n, deployed_at = :at, deployed_by = :by"),
			ExpressionAttributeNames: map[string]string{"#uid": "uid", "#latest": "latest"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":uid": str(p.UID), ":cur": num(int64(v.Version - 1)), ":n": num(int64(v.Version)),
				":at": num(ms(p.DeployedAt)), ":by": str(p.DeployedBy),
			},
		}})
	}
	vi := versionItem{Version: v.Version, DeployedAt: ms(v.DeployedAt), DeployedBy: v.DeployedBy,
		RestoredFrom: v.RestoredFrom, Packages: v.Packages, Size: v.Size, Bundle: v.Bundle}
	put, err := d.putNew(keyOf(versionsPK(p.Folder, p.Name, p.UID), versionSK(v.Version)), vi)
	if err != nil {
		return fmt.Errorf("encode version of %s: %w", what, err)
	}
	items = append(items, types.TransactWriteItem{Put: put})
	_, err = d.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if codes, ok := canceled(err); ok && v.Version == 1 && failedAt(codes, 0) {
		return fmt.Errorf("folder %q: %w", p.Folder, scaleouttype.ErrNotFound)
	}
	return failed(err, "deploy %s", what)
}

func (d *dynamoStorage) GetVersion(ctx context.Context, p ProjectRecord, n int) (VersionRecord, error) {
	var it versionItem
	what := fmt.Sprintf("%s/%s version %d", p.Folder, p.Name, n)
	if err := d.getItem(ctx, keyOf(versionsPK(p.Folder, p.Name, p.UID), versionSK(n)), what, &it); err != nil {
		return VersionRecord{}, err
	}
	return it.record(), nil
}

func (d *dynamoStorage) Versions(ctx context.Context, p ProjectRecord) ([]VersionRecord, error) {
	items, err := d.queryAll(ctx, versionsPK(p.Folder, p.Name, p.UID), versionPrefix,
		"version", "deployed_at", "deployed_by", "restored_from", "packages", "size")
	if err != nil {
		return nil, fmt.Errorf("list versions of %s/%s: %w", p.Folder, p.Name, err)
	}
	out := make([]VersionRecord, 0, len(items))
	for _, av := range items {
		var it versionItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return nil, fmt.Errorf("decode version: %w", err)
		}
		out = append(out, it.record())
	}
	return out, nil
}

func (d *dynamoStorage) DeleteVersions(ctx context.Context, p ProjectRecord, below int) error {
	out, err := d.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                aws.String(d.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk < :below"),
		ExpressionAttributeNames: map[string]string{"#pk": resources.CatalogPK, "#sk": resources.CatalogSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(versionsPK(p.Folder, p.Name, p.UID)), ":below": str(versionSK(below)),
		},
		ProjectionExpression: aws.String("#pk, #sk"),
	})
	if err != nil {
		return err
	}
	return d.deleteKeys(ctx, out.Items)
}

func (d *dynamoStorage) SetConfig(ctx context.Context, read ProjectRecord, refs []EnvRef, bindings map[string]string) error {
	refsAV, err := attributevalue.Marshal(refs)
	if err != nil {
		return fmt.Errorf("encode references: %w", err)
	}
	bindingsAV, err := attributevalue.Marshal(bindings)
	if err != nil {
		return fmt.Errorf("encode bindings: %w", err)
	}
	_, err = d.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(d.table),
		Key:                 projectKey(read.Folder, read.Name),
		ConditionExpression: aws.String("#uid = :uid AND #latest = :latest AND " + revCondition(read.ConfigRev)),
		UpdateExpression:    aws.String("SET #r = :r, #b = :b ADD #rev :one"),
		ExpressionAttributeNames: map[string]string{"#uid": "uid", "#latest": "latest", "#rev": "config_rev",
			"#r": "references", "#b": "bindings"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":uid": str(read.UID), ":latest": num(int64(read.Latest)), ":rev": num(int64(read.ConfigRev)),
			":one": num(1), ":r": refsAV, ":b": bindingsAV,
		},
	})
	return failed(err, "configure project %s/%s", read.Folder, read.Name)
}

// revCondition holds when the configuration revision is still rev; a
// project never configured has none.
func revCondition(rev int) string {
	if rev == 0 {
		return "(attribute_not_exists(#rev) OR #rev = :rev)"
	}
	return "#rev = :rev"
}

// DeleteProject deletes the project, its folder count and its versions in
// one transaction; versions beyond what one transaction takes (only after
// failed clean-ups) are deleted after it.
func (d *dynamoStorage) DeleteProject(ctx context.Context, p ProjectRecord) error {
	what := p.Folder + "/" + p.Name
	keys, err := d.queryAll(ctx, versionsPK(p.Folder, p.Name, p.UID), versionPrefix, resources.CatalogPK, resources.CatalogSK)
	if err != nil {
		return fmt.Errorf("delete project %s: %w", what, err)
	}
	items := []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName:                aws.String(d.table),
			Key:                      projectKey(p.Folder, p.Name),
			ConditionExpression:      aws.String("#uid = :uid AND #latest = :latest"),
			ExpressionAttributeNames: map[string]string{"#uid": "uid", "#latest": "latest"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":uid": str(p.UID), ":latest": num(int64(p.Latest)),
			},
		}},
		d.folderCount(p.Folder, "n_projects", -1),
	}
	n := min(len(keys), 100-len(items))
	for _, k := range keys[:n] {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(d.table), Key: k}})
	}
	_, err = d.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err != nil {
		return failed(err, "delete project %s", what)
	}
	if err := d.deleteKeys(ctx, keys[n:]); err != nil {
		d.log.WarnContext(ctx, "versions of a deleted project not deleted", "folder", p.Folder, "project", p.Name, "error", err)
	}
	return nil
}

// Environments.

type envItem struct {
	Folder      string             `dynamodbav:"folder"`
	Name        string             `dynamodbav:"name"`
	Description string             `dynamodbav:"description,omitempty"`
	Variables   map[string]varItem `dynamodbav:"variables"`
	Revision    int                `dynamodbav:"revision"`
	CreatedAt   int64              `dynamodbav:"created_at"`
	UpdatedAt   int64              `dynamodbav:"updated_at"`
}

type varItem struct {
	Type        string `dynamodbav:"type"`
	Value       string `dynamodbav:"value,omitempty"`
	Sealed      string `dynamodbav:"sealed,omitempty"`
	Sensitive   bool   `dynamodbav:"sensitive,omitempty"`
	Description string `dynamodbav:"description,omitempty"`
}

func envItemOf(e EnvironmentRecord) envItem {
	it := envItem{Folder: e.Folder, Name: e.Name, Description: e.Description, Revision: e.Revision,
		CreatedAt: ms(e.CreatedAt), UpdatedAt: ms(e.UpdatedAt), Variables: make(map[string]varItem, len(e.Variables))}
	for name, v := range e.Variables {
		it.Variables[name] = varItem(v)
	}
	return it
}

func (it envItem) record() EnvironmentRecord {
	e := EnvironmentRecord{Folder: it.Folder, Name: it.Name, Description: it.Description, Revision: it.Revision,
		CreatedAt: fromMS(it.CreatedAt), UpdatedAt: fromMS(it.UpdatedAt),
		Variables: make(map[string]StoredVariable, len(it.Variables))}
	for name, v := range it.Variables {
		e.Variables[name] = StoredVariable(v)
	}
	return e
}

func (d *dynamoStorage) CreateEnvironment(ctx context.Context, e EnvironmentRecord) error {
	what := e.Folder + "/" + e.Name
	put, err := d.putNew(envKey(e.Folder, e.Name), envItemOf(e))
	if err != nil {
		return fmt.Errorf("encode environment %s: %w", what, err)
	}
	_, err = d.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		d.folderCount(e.Folder, "n_environments", 1),
		{Put: put},
	}})
	codes, _ := canceled(err)
	switch {
	case failedAt(codes, 0):
		return fmt.Errorf("folder %q: %w", e.Folder, scaleouttype.ErrNotFound)
	case failedAt(codes, 1):
		return fmt.Errorf("environment %s: %w", what, ErrExists)
	}
	return failed(err, "create environment %s", what)
}

func (d *dynamoStorage) GetEnvironment(ctx context.Context, folder, name string) (EnvironmentRecord, error) {
	var it envItem
	if err := d.getItem(ctx, envKey(folder, name), "environment "+folder+"/"+name, &it); err != nil {
		return EnvironmentRecord{}, err
	}
	return it.record(), nil
}

func (d *dynamoStorage) Environments(ctx context.Context, folder string) ([]EnvironmentRecord, error) {
	items, err := d.queryAll(ctx, folderPrefix+folder, envPrefix)
	if err != nil {
		return nil, fmt.Errorf("list environments of %q: %w", folder, err)
	}
	out := make([]EnvironmentRecord, 0, len(items))
	for _, av := range items {
		var it envItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return nil, fmt.Errorf("decode environment: %w", err)
		}
		out = append(out, it.record())
	}
	return out, nil
}

func (d *dynamoStorage) UpdateEnvironment(ctx context.Context, e EnvironmentRecord) error {
	what := e.Folder + "/" + e.Name
	av, err := attributevalue.MarshalMap(envItemOf(e))
	if err != nil {
		return fmt.Errorf("encode environment %s: %w", what, err)
	}
	for k, v := range envKey(e.Folder, e.Name) {
		av[k] = v
	}
	_, err = d.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(d.table),
		Item:                      av,
		ConditionExpression:       aws.String("#rev = :rev"),
		ExpressionAttributeNames:  map[string]string{"#rev": "revision"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":rev": num(int64(e.Revision - 1))},
	})
	return failed(err, "update environment %s", what)
}

func (d *dynamoStorage) DeleteEnvironment(ctx context.Context, folder, name string) error {
	_, err := d.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName:                aws.String(d.table),
			Key:                      envKey(folder, name),
			ConditionExpression:      aws.String("attribute_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": resources.CatalogPK},
		}},
		d.folderCount(folder, "n_environments", -1),
	}})
	if codes, _ := canceled(err); failedAt(codes, 0) {
		return fmt.Errorf("environment %s/%s: %w", folder, name, scaleouttype.ErrNotFound)
	}
	return failed(err, "delete environment %s/%s", folder, name)
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

package catalog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/scaleouttype"
)

// EnvRef is a project's reference to an environment, in its own folder
type EnvRef = scaleouttype.EnvRef

// in returns the reference with its folder filled in.
func refIn(r EnvRef, folder string) EnvRef {
	if r.Folder == "" {
		r.Folder = folder
	}
	return r
}

// Version describes one deployed version of a project.
type Version = scaleouttype.Version

// ProjectSummary is one project of a folder listing.
type ProjectSummary = scaleouttype.ProjectSummary

// PackageInfo describes a deployed package.
type PackageInfo = scaleouttype.PackageInfo

// Project describes a project's latest version and its configuration.
type Project = scaleouttype.Project

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
	// ConfigRev counts changes of References and Bindings: a change of
	// bindings, checked against the references read, is conditional on it.
	ConfigRev int `dynamodbav:"config_rev,omitempty"`
}

func (it projectItem) summary() ProjectSummary {
	return ProjectSummary{Folder: it.Folder, Name: it.Name, Version: it.Latest, CreatedAt: fromMS(it.CreatedAt),
		DeployedAt: fromMS(it.DeployedAt), DeployedBy: it.DeployedBy}
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

func (it versionItem) info() Version {
	return Version{Version: it.Version, DeployedAt: fromMS(it.DeployedAt), DeployedBy: it.DeployedBy,
		RestoredFrom: it.RestoredFrom, Packages: it.Packages, Size: it.Size}
}

// project reads a project's item; a missing project is a *NotFoundError
// naming the folder when the folder is missing too.
func (s *Store) project(ctx context.Context, folder, name string) (projectItem, error) {
	if err := checkNames("folder", folder, "project", name); err != nil {
		return projectItem{}, err
	}
	av, err := s.get(ctx, projectKey(folder, name))
	if err != nil {
		return projectItem{}, fmt.Errorf("get project %s/%s: %w", folder, name, err)
	}
	if av == nil {
		return projectItem{}, s.projectNotFound(ctx, folder, name)
	}
	var it projectItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return projectItem{}, fmt.Errorf("decode project %s/%s: %w", folder, name, err)
	}
	return it, nil
}

func (s *Store) projectNotFound(ctx context.Context, folder, name string) error {
	return s.childNotFound(ctx, "project", projectPrefix, folder, name)
}

func (s *Store) version(ctx context.Context, p projectItem, n int) (versionItem, error) {
	if n == 0 {
		n = p.Latest
	}
	what := fmt.Sprintf("%s/%s version %d", p.Folder, p.Name, n)
	if n < 1 || n > p.Latest || n <= p.Latest-s.keep {
		return versionItem{}, notFound("version", what)
	}
	av, err := s.get(ctx, keyOf(versionsPK(p.Folder, p.Name, p.UID), versionSK(n)))
	if err != nil {
		return versionItem{}, fmt.Errorf("get %s: %w", what, err)
	}
	if av == nil {
		return versionItem{}, notFound("version", what)
	}
	var it versionItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return versionItem{}, fmt.Errorf("decode %s: %w", what, err)
	}
	return it, nil
}

// Deploy validates a bundle and stores it as the project's next version,
// creating the project (version 1) if it is new. Every problem is listed
// in a *ValidationError. Concurrent deploys of one project each get their
// own version: the write of version N+1 is conditional on N being the
// latest, and the loser reads again and retries. Only the last Keep
// versions are kept. by names who deployed (for the record).
func (s *Store) Deploy(ctx context.Context, folder, project string, b Bundle, by string) (Version, error) {
	var ps problems
	ps.name("folder", folder)
	ps.name("project", project)
	bps, names := checkBundle(b, s.types)
	ps = append(ps, bps...)
	if err := ps.err(); err != nil {
		return Version{}, err
	}
	data, err := encodeBundle(b)
	if err != nil {
		return Version{}, err
	}
	return s.store(ctx, folder, project, names, data, by, 0)
}

// store writes a checked, encoded bundle as the next version.
func (s *Store) store(ctx context.Context, folder, project string, packages []string, data []byte, by string, restoredFrom int) (Version, error) {
	what := folder + "/" + project
	for attempt := range deployAttempts {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return Version{}, err
			}
		}
		now := s.now()
		av, err := s.get(ctx, projectKey(folder, project))
		if err != nil {
			return Version{}, fmt.Errorf("deploy %s: %w", what, err)
		}
		var cur projectItem
		if av != nil {
			if err := attributevalue.UnmarshalMap(av, &cur); err != nil {
				return Version{}, fmt.Errorf("deploy %s: %w", what, err)
			}
		}
		v := versionItem{Version: cur.Latest + 1, DeployedAt: ms(now), DeployedBy: by, RestoredFrom: restoredFrom,
			Packages: packages, Size: len(data), Bundle: data}
		var items []types.TransactWriteItem
		if av == nil {
			cur = projectItem{Name: project, Folder: folder, UID: uuid.NewString(), Latest: 1,
				CreatedAt: ms(now), DeployedAt: ms(now), DeployedBy: by}
			pav, err := attributevalue.MarshalMap(cur)
			if err != nil {
				return Version{}, fmt.Errorf("encode project %s: %w", what, err)
			}
			for k, x := range projectKey(folder, project) {
				pav[k] = x
			}
			items = append(items, s.folderCount(folder, "n_projects", 1), types.TransactWriteItem{Put: &types.Put{
				TableName:                aws.String(s.table),
				Item:                     pav,
				ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
				ExpressionAttributeNames: map[string]string{"#pk": resources.CatalogPK},
			}})
		} else {
			values := map[string]types.AttributeValue{
				":uid": str(cur.UID), ":cur": num(int64(cur.Latest)), ":n": num(int64(v.Version)),
				":at": num(ms(now)), ":by": str(by),
			}
			items = append(items, types.TransactWriteItem{Update: &types.Update{
				TableName:                 aws.String(s.table),
				Key:                       projectKey(folder, project),
				ConditionExpression:       aws.String("#uid = :uid AND #latest = :cur"),
				UpdateExpression:          aws.String("SET #latest = :n, deployed_at = :at, deployed_by = :by"),
				ExpressionAttributeNames:  map[string]string{"#uid": "uid", "#latest": "latest"},
				ExpressionAttributeValues: values,
			}})
			cur.Latest = v.Version
		}
		vav, err := attributevalue.MarshalMap(v)
		if err != nil {
			return Version{}, fmt.Errorf("encode version of %s: %w", what, err)
		}
		for k, x := range keyOf(versionsPK(folder, project, cur.UID), versionSK(v.Version)) {
			vav[k] = x
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName:                aws.String(s.table),
			Item:                     vav,
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": resources.CatalogPK},
		}})
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if codes, ok := canceled(err); ok && av == nil && failedAt(codes, 0) {
			return Version{}, s.folderNotFound(ctx, folder)
		}
		if contended(err) {
			continue
		}
		if err != nil {
			return Version{}, fmt.Errorf("deploy %s: %w", what, err)
		}
		s.prune(ctx, cur)
		return v.info(), nil
	}
	return Version{}, fmt.Errorf("deploy %s: %d attempts lost to concurrent deploys: %w", what, deployAttempts, ErrConflict)
}

// prune deletes the versions older than the last Keep. A failure is
// logged: the next deploy prunes them, and reads never show them.
func (s *Store) prune(ctx context.Context, p projectItem) {
	oldest := p.Latest - s.keep + 1
	if oldest <= 1 {
		return
	}
	pk := versionsPK(p.Folder, p.Name, p.UID)
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk < :oldest"),
		ExpressionAttributeNames: map[string]string{"#pk": resources.CatalogPK, "#sk": resources.CatalogSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(pk), ":oldest": str(versionSK(oldest)),
		},
		ProjectionExpression: aws.String("#pk, #sk"),
	})
	if err == nil {
		err = s.deleteKeys(ctx, out.Items)
	}
	if err != nil {
		s.log.WarnContext(ctx, "old project versions not deleted yet", "folder", p.Folder, "project", p.Name, "error", err)
	}
}

// deleteKeys deletes items by key, 25 at a time.
func (s *Store) deleteKeys(ctx context.Context, keys []map[string]types.AttributeValue) error {
	for len(keys) > 0 {
		n := min(len(keys), 25)
		reqs := make([]types.WriteRequest, n)
		for i, k := range keys[:n] {
			reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}}
		}
		keys = keys[n:]
		pending := map[string][]types.WriteRequest{s.table: reqs}
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt == 5 {
				return fmt.Errorf("%d deletes left unprocessed", len(pending[s.table]))
			}
			if attempt > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return err
				}
			}
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return err
			}
			pending = out.UnprocessedItems
		}
	}
	return nil
}

// Restore makes a new version whose content is that of an earlier one, as
// SSIS does: restoring version 1 of a project at version 2 gives version 3.
func (s *Store) Restore(ctx context.Context, folder, project string, version int, by string) (Version, error) {
	p, err := s.project(ctx, folder, project)
	if err != nil {
		return Version{}, err
	}
	if version < 1 {
		return Version{}, invalid("version", "%d: give a version number (1 or more)", version)
	}
	old, err := s.version(ctx, p, version)
	if err != nil {
		return Version{}, err
	}
	return s.store(ctx, folder, project, old.Packages, old.Bundle, by, version)
}

// Projects lists the projects of a folder, by name.
func (s *Store) Projects(ctx context.Context, folder string) ([]ProjectSummary, error) {
	if _, err := s.GetFolder(ctx, folder); err != nil {
		return nil, err
	}
	items, err := s.queryAll(ctx, folderPrefix+folder, projectPrefix)
	if err != nil {
		return nil, fmt.Errorf("list projects of %q: %w", folder, err)
	}
	out := make([]ProjectSummary, 0, len(items))
	for _, av := range items {
		var it projectItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return nil, fmt.Errorf("decode project: %w", err)
		}
		out = append(out, it.summary())
	}
	return out, nil
}

// DescribeProject describes the project's latest version and its
// configuration.
func (s *Store) DescribeProject(ctx context.Context, folder, project string) (Project, error) {
	p, err := s.project(ctx, folder, project)
	if err != nil {
		return Project{}, err
	}
	v, err := s.version(ctx, p, 0)
	if err != nil {
		return Project{}, err
	}
	b, err := decodeBundle(v.Bundle)
	if err != nil {
		return Project{}, fmt.Errorf("project %s/%s version %d: %w", folder, project, v.Version, err)
	}
	out := Project{ProjectSummary: p.summary(), RestoredFrom: v.RestoredFrom, Parameters: b.Parameters,
		Files: slices.Sorted(maps.Keys(b.Files)), References: p.References, Bindings: p.Bindings}
	if out.References == nil {
		out.References = []EnvRef{}
	}
	if out.Bindings == nil {
		out.Bindings = map[string]string{}
	}
	for _, name := range slices.Sorted(maps.Keys(b.Packages)) {
		info := PackageInfo{Name: name}
		if pk, err := pkgfile.Parse([]byte(b.Packages[name]), name); err == nil {
			info.Description, info.Parameters = pk.Description, pk.Parameters
		}
		out.Packages = append(out.Packages, info)
	}
	return out, nil
}

// Versions lists the kept versions of a project, newest first.
func (s *Store) Versions(ctx context.Context, folder, project string) ([]Version, error) {
	p, err := s.project(ctx, folder, project)
	if err != nil {
		return nil, err
	}
	items, err := s.queryAll(ctx, versionsPK(folder, project, p.UID), versionPrefix,
		"version", "deployed_at", "deployed_by", "restored_from", "packages", "size")
	if err != nil {
		return nil, fmt.Errorf("list versions of %s/%s: %w", folder, project, err)
	}
	out := make([]Version, 0, len(items))
	for i := len(items) - 1; i >= 0; i-- {
		var it versionItem
		if err := attributevalue.UnmarshalMap(items[i], &it); err != nil {
			return nil, fmt.Errorf("decode version: %w", err)
		}
		if it.Version > p.Latest-s.keep && it.Version <= p.Latest {
			out = append(out, it.info())
		}
	}
	return out, nil
}

// ProjectBundle returns what a version holds (0: the latest).
func (s *Store) ProjectBundle(ctx context.Context, folder, project string, version int) (Bundle, Version, error) {
	p, err := s.project(ctx, folder, project)
	if err != nil {
		return Bundle{}, Version{}, err
	}
	v, err := s.version(ctx, p, version)
	if err != nil {
		return Bundle{}, Version{}, err
	}
	b, err := decodeBundle(v.Bundle)
	if err != nil {
		return Bundle{}, Version{}, fmt.Errorf("project %s/%s version %d: %w", folder, project, v.Version, err)
	}
	return b, v.info(), nil
}

// DeleteProject deletes a project and all its versions in one transaction
// that also lowers its folder's count; a deploy racing with it either
// lands before (and its version is deleted too) or after (and creates the
// project anew).
func (s *Store) DeleteProject(ctx context.Context, folder, project string) error {
	what := folder + "/" + project
	for attempt := range deployAttempts {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
		p, err := s.project(ctx, folder, project)
		if err != nil {
			return err
		}
		keys, err := s.queryAll(ctx, versionsPK(folder, project, p.UID), versionPrefix, resources.CatalogPK, resources.CatalogSK)
		if err != nil {
			return fmt.Errorf("delete project %s: %w", what, err)
		}
		items := []types.TransactWriteItem{
			{Delete: &types.Delete{
				TableName:                aws.String(s.table),
				Key:                      projectKey(folder, project),
				ConditionExpression:      aws.String("#uid = :uid AND #latest = :latest"),
				ExpressionAttributeNames: map[string]string{"#uid": "uid", "#latest": "latest"},
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":uid": str(p.UID), ":latest": num(int64(p.Latest)),
				},
			}},
			s.folderCount(folder, "n_projects", -1),
		}
		// Versions beyond what one transaction takes (only after a failed
		// prune) are deleted after it.
		n := min(len(keys), 100-len(items))
		for _, k := range keys[:n] {
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: k}})
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if contended(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("delete project %s: %w", what, err)
		}
		if err := s.deleteKeys(ctx, keys[n:]); err != nil {
			s.log.WarnContext(ctx, "versions of a deleted project not deleted", "folder", folder, "project", project, "error", err)
		}
		return nil
	}
	return fmt.Errorf("delete project %s: %d attempts lost to concurrent changes: %w", what, deployAttempts, ErrConflict)
}

// SetReferences replaces the environments a project may run with. Each
// must exist now (a reference to an environment deleted later fails at
// resolution). References live on the project, not on its versions: a
// redeploy or restore keeps them.
func (s *Store) SetReferences(ctx context.Context, folder, project string, refs []EnvRef) error {
	var ps problems
	ps.name("folder", folder)
	ps.name("project", project)
	seen := map[EnvRef]bool{}
	norm := make([]EnvRef, 0, len(refs))
	for i, r := range refs {
		if r.Folder != "" {
			ps.name(fmt.Sprintf("references[%d].folder", i), r.Folder)
		}
		ps.name(fmt.Sprintf("references[%d].environment", i), r.Environment)
		r = refIn(r, folder)
		if !seen[r] {
			seen[r] = true
			norm = append(norm, r)
		}
	}
	if len(norm) > 100 {
		ps.add("", "references", "%d references, at most 100", len(norm))
	}
	if err := ps.err(); err != nil {
		return err
	}
	if _, err := s.project(ctx, folder, project); err != nil {
		return err
	}
	for _, r := range norm {
		av, err := s.get(ctx, envKey(r.Folder, r.Environment))
		if err != nil {
			return fmt.Errorf("check environment %s: %w", r, err)
		}
		if av == nil {
			return s.childNotFound(ctx, "environment", envPrefix, r.Folder, r.Environment)
		}
	}
	refsAV, err := attributevalue.Marshal(norm)
	if err != nil {
		return fmt.Errorf("encode references: %w", err)
	}
	return s.setConfig(ctx, folder, project, "references", refsAV)
}

func (s *Store) setConfig(ctx context.Context, folder, project, attr string, v types.AttributeValue) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       projectKey(folder, project),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		UpdateExpression:          aws.String("SET #a = :v ADD #rev :one"),
		ExpressionAttributeNames:  map[string]string{"#pk": resources.CatalogPK, "#a": attr, "#rev": "config_rev"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": v, ":one": num(1)},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return s.projectNotFound(ctx, folder, project)
	}
	if err != nil {
		return fmt.Errorf("set %s of project %s/%s: %w", attr, folder, project, err)
	}
	return nil
}

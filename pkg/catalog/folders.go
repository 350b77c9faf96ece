package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/pkg/resources"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Folder holds projects and environments.
type Folder = scaleouttype.Folder

// FolderPage is one page of a folder listing.
type FolderPage = scaleouttype.FolderPage

// MaxDescription caps descriptions.
const MaxDescription = 4096

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

func decodeFolder(av map[string]types.AttributeValue) (Folder, error) {
	var it folderItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return Folder{}, fmt.Errorf("decode folder item: %w", err)
	}
	return it.folder(), nil
}

func (ps *problems) description(d string) {
	if len(d) > MaxDescription {
		ps.add("", "description", "%d bytes, at most %d", len(d), MaxDescription)
	}
}

// CreateFolder creates an empty folder; ErrExists if the name is taken.
func (s *Store) CreateFolder(ctx context.Context, name, description string) (Folder, error) {
	var ps problems
	ps.name("folder", name)
	ps.description(description)
	if err := ps.err(); err != nil {
		return Folder{}, err
	}
	it := folderItem{Name: name, Description: description, CreatedAt: ms(s.now())}
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		return Folder{}, fmt.Errorf("encode folder %q: %w", name, err)
	}
	for k, v := range folderKey(name) {
		av[k] = v
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     av,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": resources.CatalogPK},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return Folder{}, fmt.Errorf("folder %q: %w", name, ErrExists)
	}
	if err != nil {
		return Folder{}, fmt.Errorf("create folder %q: %w", name, err)
	}
	return it.folder(), nil
}

// GetFolder reads one folder.
func (s *Store) GetFolder(ctx context.Context, name string) (Folder, error) {
	if err := checkNames("folder", name); err != nil {
		return Folder{}, err
	}
	av, err := s.get(ctx, folderKey(name))
	if err != nil {
		return Folder{}, fmt.Errorf("get folder %q: %w", name, err)
	}
	if av == nil {
		return Folder{}, s.folderNotFound(ctx, name)
	}
	return decodeFolder(av)
}

// ListFolders returns folders in name order, limit at a time (default and
// most 1000), after the position cursor holds ("" for the first page).
func (s *Store) ListFolders(ctx context.Context, cursor string, limit int) (FolderPage, error) {
	after, err := decodeCursor(cursor)
	if err != nil {
		return FolderPage{}, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
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
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return FolderPage{}, fmt.Errorf("list folders: %w", err)
	}
	page := FolderPage{Folders: make([]Folder, 0, len(out.Items))}
	for _, av := range out.Items {
		f, err := decodeFolder(av)
		if err != nil {
			return FolderPage{}, err
		}
		page.Folders = append(page.Folders, f)
	}
	if len(out.LastEvaluatedKey) > 0 && len(page.Folders) > 0 {
		page.Next = encodeCursor(page.Folders[len(page.Folders)-1].Name)
	}
	return page, nil
}

// DeleteFolder deletes an empty folder. While it holds projects or
// environments it answers a *NotEmptyError naming them. The delete is
// conditional on the folder's counts, which every child create and delete
// changes in the same transaction, so a child created concurrently either
// makes the delete fail or fails itself.
func (s *Store) DeleteFolder(ctx context.Context, name string) error {
	if err := checkNames("folder", name); err != nil {
		return err
	}
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                aws.String(s.table),
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
			return s.folderNotFound(ctx, name)
		}
		return s.notEmpty(ctx, name)
	}
	if err != nil {
		return fmt.Errorf("delete folder %q: %w", name, err)
	}
	return nil
}

// notEmpty names (some of) what a folder holds.
func (s *Store) notEmpty(ctx context.Context, folder string) error {
	e := &NotEmptyError{Folder: folder}
	for _, kind := range []struct {
		prefix string
		into   *[]string
	}{{projectPrefix, &e.Projects}, {envPrefix, &e.Environments}} {
		items, err := s.queryAll(ctx, folderPrefix+folder, kind.prefix, resources.CatalogSK)
		if err != nil {
			return fmt.Errorf("%w (listing it: %v)", e, err)
		}
		for _, av := range items {
			if sk, ok := av[resources.CatalogSK].(*types.AttributeValueMemberS); ok {
				*kind.into = appendCapped(*kind.into, strings.TrimPrefix(sk.Value, kind.prefix))
			}
		}
	}
	return e
}

func appendCapped(l []string, s string) []string {
	const most = 20
	switch {
	case len(l) < most:
		return append(l, s)
	case len(l) == most:
		return append(l, "...")
	}
	return l
}

// folderCount is the transaction item that changes a folder's count of
// projects or environments by delta; it fails when the folder is gone.
func (s *Store) folderCount(folder, counter string, delta int64) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                aws.String(s.table),
		Key:                      folderKey(folder),
		ConditionExpression:      aws.String("attribute_exists(#pk)"),
		UpdateExpression:         aws.String("ADD #n :d"),
		ExpressionAttributeNames: map[string]string{"#pk": resources.CatalogPK, "#n": counter},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":d": num(delta),
		},
	}}
}

package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Variable is one typed environment variable.
type Variable = scaleouttype.Variable

// EnvironmentInput is what creating or updating an environment sends.
type EnvironmentInput = scaleouttype.EnvironmentInput

// Environment is a named set of variables in a folder, which projects that
type Environment = scaleouttype.Environment

type envItem struct {
	Folder      string             `dynamodbav:"folder"`
	Name        string             `dynamodbav:"name"`
	Description string             `dynamodbav:"description,omitempty"`
	Variables   map[string]varItem `dynamodbav:"variables"`
	Revision    int                `dynamodbav:"revision"`
	CreatedAt   int64              `dynamodbav:"created_at"`
	UpdatedAt   int64              `dynamodbav:"updated_at"`
}

// varItem is a stored variable: Value holds a plain value as JSON, Sealed
// a sensitive one, sealed (secrets.Sealer) from its JSON.
type varItem struct {
	Type        string `dynamodbav:"type"`
	Value       string `dynamodbav:"value,omitempty"`
	Sealed      string `dynamodbav:"sealed,omitempty"`
	Sensitive   bool   `dynamodbav:"sensitive,omitempty"`
	Description string `dynamodbav:"description,omitempty"`
}

// sealContext is the encryption context of a sensitive value: it can only
// be opened as that variable of that environment.
func sealContext(folder, env, variable string) map[string]string {
	return map[string]string{"folder": folder, "environment": env, "variable": variable}
}

// public is the environment as callers see it: sensitive values left out.
func (it envItem) public() (Environment, error) {
	out := Environment{Folder: it.Folder, Name: it.Name, Description: it.Description, Revision: it.Revision,
		CreatedAt: fromMS(it.CreatedAt), UpdatedAt: fromMS(it.UpdatedAt), Variables: map[string]Variable{}}
	for name, v := range it.Variables {
		pv := Variable{Type: pkgfile.Type(v.Type), Sensitive: v.Sensitive, Description: v.Description}
		if !v.Sensitive {
			val, err := decodeValue(pkgfile.Type(v.Type), []byte(v.Value))
			if err != nil {
				return Environment{}, fmt.Errorf("environment %s/%s variable %s: %w", it.Folder, it.Name, name, err)
			}
			pv.Value = val
		}
		out.Variables[name] = pv
	}
	return out, nil
}

func decodeValue(t pkgfile.Type, data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode stored value: %w", err)
	}
	return pkgfile.Convert(t, v)
}

// variables checks and converts the variables of an input, seals the
// sensitive ones, and keeps the stored sealed value of a sensitive
// variable given without a value (callers never see it, so they cannot
// send it back) when old has it with the same type.
func (s *Store) variables(ctx context.Context, folder, env string, in map[string]Variable, old map[string]varItem) (map[string]varItem, error) {
	var ps problems
	if len(in) > MaxVariables {
		ps.add("", "variables", "%d variables, at most %d", len(in), MaxVariables)
	}
	out := make(map[string]varItem, len(in))
	for _, name := range slices.Sorted(maps.Keys(in)) {
		v := in[name]
		at := "variables." + name
		if !identifier.MatchString(name) {
			ps.add("", fmt.Sprintf("variables[%q]", clip(name)), "name: use letters, digits and '_', starting with a letter or '_'")
			continue
		}
		if len(v.Description) > MaxDescription {
			ps.add("", at+".description", "%d bytes, at most %d", len(v.Description), MaxDescription)
		}
		if !slices.Contains(pkgfile.Types, v.Type) {
			ps.add("", at+".type", "unknown type %q (known: %s)", clip(string(v.Type)), typeNames())
			continue
		}
		it := varItem{Type: string(v.Type), Sensitive: v.Sensitive, Description: v.Description}
		if v.Value == nil {
			if prev, ok := old[name]; ok && v.Sensitive && prev.Sensitive && prev.Type == it.Type {
				it.Sealed = prev.Sealed
				out[name] = it
				continue
			}
			ps.add("", at+".value", "missing: give a value of type %s", v.Type)
			continue
		}
		val, err := pkgfile.Convert(v.Type, v.Value)
		if err != nil {
			if v.Sensitive {
				ps.add("", at+".value", "%v", err)
			} else {
				ps.add("", at+".value", "%v", mismatchPlain(v.Type, v.Value, err))
			}
			continue
		}
		data, err := json.Marshal(val)
		if err != nil {
			ps.add("", at+".value", "cannot be stored: %v", err)
			continue
		}
		if len(data) > MaxValueSize {
			ps.add("", at+".value", "%d bytes as JSON, at most %d", len(data), MaxValueSize)
			continue
		}
		if v.Sensitive {
			sealed, err := s.sealer.Seal(ctx, data, sealContext(folder, env, name))
			if err != nil {
				return nil, fmt.Errorf("seal variable %s of environment %s/%s: %w", name, folder, env, err)
			}
			it.Sealed = sealed
		} else {
			it.Value = string(data)
		}
		out[name] = it
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// mismatchPlain is pkgfile's message with the (non-sensitive) value shown.
func mismatchPlain(t pkgfile.Type, v any, err error) string {
	b, jerr := json.Marshal(v)
	if jerr != nil || len(b) > 64 {
		return err.Error()
	}
	return strings.Replace(err.Error(), "got a value of another type", "got "+string(b), 1)
}

func (s *Store) putEnv(ctx context.Context, it envItem) (map[string]types.AttributeValue, error) {
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("encode environment %s/%s: %w", it.Folder, it.Name, err)
	}
	for k, v := range envKey(it.Folder, it.Name) {
		av[k] = v
	}
	return av, nil
}

// CreateEnvironment creates an environment in a folder; ErrExists if the
// name is taken there.
func (s *Store) CreateEnvironment(ctx context.Context, folder, name string, in EnvironmentInput) (Environment, error) {
	var ps problems
	ps.name("folder", folder)
	ps.name("environment", name)
	ps.description(in.Description)
	if err := ps.err(); err != nil {
		return Environment{}, err
	}
	vars, err := s.variables(ctx, folder, name, in.Variables, nil)
	if err != nil {
		return Environment{}, err
	}
	now := ms(s.now())
	it := envItem{Folder: folder, Name: name, Description: in.Description, Variables: vars, Revision: 1,
		CreatedAt: now, UpdatedAt: now}
	av, err := s.putEnv(ctx, it)
	if err != nil {
		return Environment{}, err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		s.folderCount(folder, "n_environments", 1),
		{Put: &types.Put{
			TableName:                aws.String(s.table),
			Item:                     av,
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": resources.CatalogPK},
		}},
	}})
	codes, _ := canceled(err)
	switch {
	case failedAt(codes, 0):
		return Environment{}, s.folderNotFound(ctx, folder)
	case failedAt(codes, 1):
		return Environment{}, fmt.Errorf("environment %s/%s: %w", folder, name, ErrExists)
	case contended(err):
		return Environment{}, fmt.Errorf("create environment %s/%s: %w", folder, name, ErrConflict)
	case err != nil:
		return Environment{}, fmt.Errorf("create environment %s/%s: %w", folder, name, err)
	}
	return it.public()
}

// UpdateEnvironment replaces an environment's description and variables.
// A sensitive variable sent without a value keeps its stored value. The
// write is conditional on the revision read: a concurrent update makes it
// fail with ErrConflict.
func (s *Store) UpdateEnvironment(ctx context.Context, folder, name string, in EnvironmentInput) (Environment, error) {
	var ps problems
	ps.description(in.Description)
	if err := ps.err(); err != nil {
		return Environment{}, err
	}
	old, err := s.env(ctx, folder, name)
	if err != nil {
		return Environment{}, err
	}
	vars, err := s.variables(ctx, folder, name, in.Variables, old.Variables)
	if err != nil {
		return Environment{}, err
	}
	it := old
	it.Description, it.Variables, it.Revision, it.UpdatedAt = in.Description, vars, old.Revision+1, ms(s.now())
	av, err := s.putEnv(ctx, it)
	if err != nil {
		return Environment{}, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      av,
		ConditionExpression:       aws.String("#rev = :rev"),
		ExpressionAttributeNames:  map[string]string{"#rev": "revision"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":rev": num(int64(old.Revision))},
	})
	if contended(err) {
		return Environment{}, fmt.Errorf("update environment %s/%s: %w", folder, name, ErrConflict)
	}
	if err != nil {
		return Environment{}, fmt.Errorf("update environment %s/%s: %w", folder, name, err)
	}
	return it.public()
}

func (s *Store) env(ctx context.Context, folder, name string) (envItem, error) {
	if err := checkNames("folder", folder, "environment", name); err != nil {
		return envItem{}, err
	}
	av, err := s.get(ctx, envKey(folder, name))
	if err != nil {
		return envItem{}, fmt.Errorf("get environment %s/%s: %w", folder, name, err)
	}
	if av == nil {
		return envItem{}, s.childNotFound(ctx, "environment", envPrefix, folder, name)
	}
	var it envItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return envItem{}, fmt.Errorf("decode environment %s/%s: %w", folder, name, err)
	}
	return it, nil
}

// GetEnvironment reads an environment; sensitive values are left out.
func (s *Store) GetEnvironment(ctx context.Context, folder, name string) (Environment, error) {
	it, err := s.env(ctx, folder, name)
	if err != nil {
		return Environment{}, err
	}
	return it.public()
}

// Environments lists a folder's environments by name; sensitive values are
// left out.
func (s *Store) Environments(ctx context.Context, folder string) ([]Environment, error) {
	if _, err := s.GetFolder(ctx, folder); err != nil {
		return nil, err
	}
	items, err := s.queryAll(ctx, folderPrefix+folder, envPrefix)
	if err != nil {
		return nil, fmt.Errorf("list environments of %q: %w", folder, err)
	}
	out := make([]Environment, 0, len(items))
	for _, av := range items {
		var it envItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return nil, fmt.Errorf("decode environment: %w", err)
		}
		e, err := it.public()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// DeleteEnvironment deletes an environment and lowers its folder's count,
// in one transaction. Projects that reference it fail to resolve with it
// afterwards.
func (s *Store) DeleteEnvironment(ctx context.Context, folder, name string) error {
	if err := checkNames("folder", folder, "environment", name); err != nil {
		return err
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName:                aws.String(s.table),
			Key:                      envKey(folder, name),
			ConditionExpression:      aws.String("attribute_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": resources.CatalogPK},
		}},
		s.folderCount(folder, "n_environments", -1),
	}})
	codes, _ := canceled(err)
	switch {
	case failedAt(codes, 0):
		return s.childNotFound(ctx, "environment", envPrefix, folder, name)
	case contended(err):
		return fmt.Errorf("delete environment %s/%s: %w", folder, name, ErrConflict)
	case err != nil:
		return fmt.Errorf("delete environment %s/%s: %w", folder, name, err)
	}
	return nil
}

// envValue is an environment variable's value, opened.
type envValue struct {
	Type      pkgfile.Type
	Value     any
	Sensitive bool
}

// openEnvironment reads an environment with its sensitive values opened,
// for resolution only: these values must never be returned to a caller.
func (s *Store) openEnvironment(ctx context.Context, ref EnvRef) (map[string]envValue, error) {
	it, err := s.env(ctx, ref.Folder, ref.Environment)
	if err != nil {
		return nil, err
	}
	out := make(map[string]envValue, len(it.Variables))
	for name, v := range it.Variables {
		val, err := s.openVariable(ctx, ref, name, v)
		if err != nil {
			return nil, err
		}
		out[name] = val
	}
	return out, nil
}

// openVariable decodes a stored variable, opening it if it is sensitive:
// for resolution and checks only, never returned to a caller.
func (s *Store) openVariable(ctx context.Context, ref EnvRef, name string, v varItem) (envValue, error) {
	data := []byte(v.Value)
	if v.Sensitive {
		var err error
		data, err = s.sealer.Open(ctx, v.Sealed, sealContext(ref.Folder, ref.Environment, name))
		if err != nil {
			return envValue{}, fmt.Errorf("environment %s variable %s: %w", ref, name, err)
		}
	}
	val, err := decodeValue(pkgfile.Type(v.Type), data)
	if err != nil {
		return envValue{}, fmt.Errorf("environment %s variable %s: %w", ref, name, err)
	}
	return envValue{Type: pkgfile.Type(v.Type), Value: val, Sensitive: v.Sensitive}, nil
}

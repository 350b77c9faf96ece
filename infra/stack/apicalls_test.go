package stack_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAPIRoleGrantsWhatTheAPICalls: the API function's role holds exactly
// the DynamoDB, SQS and KMS actions the API's code calls: each listed
// below with who calls it, and the whole set derived from the code (see
// apiCalls).
func TestAPIRoleGrantsWhatTheAPICalls(t *testing.T) {
	executions := resourceID(t, "AWS::DynamoDB::Table", obj{"TableName": synth.set.Executions.Name})
	catalog := resourceID(t, "AWS::DynamoDB::Table", obj{"TableName": synth.set.Catalog.Name})
	indexes := "map[Fn::Join:[ [map[Fn::GetAtt:[" + executions + " Arn]] /index/*]]]"
	want := map[string][]string{
		executions + ".Arn": {
			"dynamodb:PutItem",      // execstore Create, CreateIdempotent (transaction): POST /v1/executions
			"dynamodb:GetItem",      // execstore Get: GET /v1/executions/{id}, and after a stop
			"dynamodb:UpdateItem",   // execstore Stop (alone or in a transaction), Fail (message not sent)
			"dynamodb:BatchGetItem", // execstore List: a listed page's items
			"dynamodb:Scan",         // execstore anyExecution: one item, when the day markers' SINCE is first written
		},
		indexes: {
			"dynamodb:Query", // execstore List (by_package, by_folder, by_day), ByStatus (by_status)
		},
		catalog + ".Arn": {
			"dynamodb:GetItem",        // catalog reads, idempotency record, workers Get, aggregates
			"dynamodb:Query",          // catalog lists, messages List, workers List, aggregates (dashboard)
			"dynamodb:BatchGetItem",   // aggregate Pools, Workers: GET /v1/pools, /v1/workers
			"dynamodb:PutItem",        // catalog CreateFolder, deploy, environments; idempotency record
			"dynamodb:UpdateItem",     // catalog config, folder counts; workers enable, update; stop requests
			"dynamodb:DeleteItem",     // catalog DeleteFolder, DeleteProject, DeleteEnvironment; workers Remove
			"dynamodb:BatchWriteItem", // catalog deleteKeys: a deleted project's versions
		},
	}
	for _, q := range synth.set.Pools {
		qid := resourceID(t, "AWS::SQS::Queue", obj{"QueueName": q.Name})
		want[qid+".Arn"] = []string{
			"sqs:GetQueueUrl",        // queue.Lookup, once per cold start
			"sqs:SendMessage",        // POST /v1/executions
			"sqs:GetQueueAttributes", // queue Depth: GET /v1/pools
		}
	}
	kmsWant := []string{
		"kms:Encrypt", // secrets.KMSSealer Seal: sensitive environment values and parameters
		"kms:Decrypt", // secrets.KMSSealer Open: an environment's sensitive values bound to a run
	}

	got := map[string][]string{}
	var kms []string
	for _, st := range statements(t)[synth.settings.Prefix+"-api"] {
		for _, res := range list(st["Resource"]) {
			for _, a := range list(st["Action"]) {
				switch a := a.(string); {
				case strings.HasPrefix(a, "kms:"):
					kms = append(kms, a)
				case strings.HasPrefix(a, "dynamodb:"), strings.HasPrefix(a, "sqs:"):
					got[resourceKey(res)] = append(got[resourceKey(res)], a)
				}
			}
		}
	}
	require.ElementsMatch(t, slices.Collect(maps.Keys(want)), slices.Collect(maps.Keys(got)))
	for res, actions := range want {
		require.ElementsMatch(t, actions, got[res], res)
	}
	require.ElementsMatch(t, kmsWant, kms)

	// And the union is what the code calls.
	var granted []string
	for _, actions := range got {
		granted = append(granted, actions...)
	}
	granted = append(granted, kms...)
	slices.Sort(granted)
	calls := apiCalls(t)
	require.Equal(t, calls, slices.Compact(granted),
		"the API's code calls %v; its role grants %v", calls, slices.Compact(granted))
}

// apiPorts are the interfaces package api declares for what it calls, and
// the adapters assemble.API fills them with: the API's code reaches AWS
// through these methods only.
var apiPorts = []struct{ iface, pkg, typ string }{
	{"Store", "internal/executions/execstore", "Store"},
	{"Catalog", "internal/catalog", "Catalog"},
	{"Workers", "internal/worker/registry", "Store"},
	{"Messages", "internal/executions/messages", "Store"},
	{"Stats", "internal/stream/aggregate", "Store"},
	{"Enqueuer", "internal/aws/queue", "Queue"},
	{"Depth", "internal/aws/queue", "Queue"}, // GET /v1/pools asserts its queues to Depth
}

// apiStartup is what assemble.API calls itself: each pool's queue is
// looked up, and the catalog's sealer (KMS on AWS) seals and opens.
var apiStartup = []fn{{"internal/aws/queue", "", "Lookup"}, {"internal/aws/secrets", "KMSSealer", "Seal"}, {"internal/aws/secrets", "KMSSealer", "Open"}}

// fn names a function or method of one of the module's packages.
type fn struct{ pkg, recv, name string }

// apiCalls walks the code from the API's ports (apiPorts, apiStartup)
// through the calls each function makes in its own package and to the
// module's other packages, and returns the IAM actions of the AWS calls it
// finds: an SDK call is an XInput literal of package dynamodb, sqs or kms
// (action X), and a transaction's items are Put, Update, Delete and
// ConditionCheck literals (PutItem, ... ConditionCheckItem; a transaction
// itself needs no action of its own). The walk goes by name within a
// package (a call of m follows every function or method named m there),
// which can only find more, never fewer, calls than the code makes.
func apiCalls(t *testing.T) []string {
	t.Helper()
	root := filepath.Join("..", "..")
	pkgs := map[string]*parsed{}
	load := func(name string) *parsed {
		if p, ok := pkgs[name]; ok {
			return p
		}
		p := parsePackage(t, filepath.Join(root, filepath.FromSlash(name)))
		pkgs[name] = p
		return p
	}
	var todo []fn
	for _, port := range apiPorts {
		for _, m := range load("internal/api").interfaceMethods(t, port.iface) {
			todo = append(todo, fn{port.pkg, port.typ, m})
		}
	}
	todo = append(todo, apiStartup...)
	seen := map[fn]bool{}
	actions := map[string]bool{}
	for len(todo) > 0 {
		f := todo[0]
		todo = todo[1:]
		if seen[f] {
			continue
		}
		seen[f] = true
		p := load(f.pkg)
		decls := p.funcs[f.name]
		if f.recv != "" {
			decls = slices.DeleteFunc(slices.Clone(decls), func(d decl) bool { return d.recv != f.recv })
			require.NotEmpty(t, decls, "%s.%s has no method %s", f.pkg, f.recv, f.name)
		}
		for _, d := range decls {
			ast.Inspect(d.fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CompositeLit:
					if action := sdkAction(d.imports, n.Type); action != "" {
						actions[action] = true
					}
				case *ast.SelectorExpr:
					if x, ok := n.X.(*ast.Ident); ok {
						if path, ok := d.imports[x.Name]; ok {
							if other, ok := strings.CutPrefix(path, modulePath+"/"); ok {
								todo = append(todo, fn{other, "", n.Sel.Name})
							}
							return false
						}
					}
					if _, ok := p.funcs[n.Sel.Name]; ok {
						todo = append(todo, fn{f.pkg, "", n.Sel.Name})
					}
				case *ast.Ident:
					if _, ok := p.funcs[n.Name]; ok {
						todo = append(todo, fn{f.pkg, "", n.Name})
					}
				}
				return true
			})
		}
	}
	out := slices.Sorted(maps.Keys(actions))
	require.NotEmpty(t, out)
	return out
}

const modulePath = "github.com/scaleout/scaleout"

// sdkAction is the IAM action of an SDK input or transaction item literal.
func sdkAction(imports map[string]string, typ ast.Expr) string {
	sel, ok := typ.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok {
		return ""
	}
	name := sel.Sel.Name
	switch path := imports[x.Name]; path {
	case "github.com/aws/aws-sdk-go-v2/service/dynamodb":
		op, ok := strings.CutSuffix(name, "Input")
		if !ok {
			return ""
		}
		switch op {
		case "TransactWriteItems": // its items say what it needs
			return ""
		case "TransactGetItems":
			return "dynamodb:GetItem"
		}
		return "dynamodb:" + op
	case "github.com/aws/aws-sdk-go-v2/service/dynamodb/types":
		return map[string]string{"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem",
			"Delete": "dynamodb:DeleteItem", "ConditionCheck": "dynamodb:ConditionCheckItem"}[name]
	case "github.com/aws/aws-sdk-go-v2/service/sqs", "github.com/aws/aws-sdk-go-v2/service/kms":
		if op, ok := strings.CutSuffix(name, "Input"); ok {
			return filepath.Base(path) + ":" + op
		}
	}
	return ""
}

// parsed is a package's functions by name, without its tests.
type parsed struct {
	files []*ast.File
	funcs map[string][]decl
}

type decl struct {
	recv    string // "" for a function
	fn      *ast.FuncDecl
	imports map[string]string // the file's imports by local name
}

func parsePackage(t *testing.T, dir string) *parsed {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	p := &parsed{funcs: map[string][]decl{}}
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		require.NoError(t, err)
		p.files = append(p.files, f)
		imports := map[string]string{}
		for _, im := range f.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			name := filepath.Base(path)
			if im.Name != nil {
				name = im.Name.Name
			}
			imports[name] = path
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			var recv string
			if fd.Recv != nil {
				typ := fd.Recv.List[0].Type
				if star, ok := typ.(*ast.StarExpr); ok {
					typ = star.X
				}
				if id, ok := typ.(*ast.Ident); ok {
					recv = id.Name
				}
			}
			p.funcs[fd.Name.Name] = append(p.funcs[fd.Name.Name], decl{recv, fd, imports})
		}
	}
	return p
}

// interfaceMethods names the methods of the package's interface iface.
func (p *parsed) interfaceMethods(t *testing.T, iface string) []string {
	t.Helper()
	for _, f := range p.files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, s := range gd.Specs {
				ts, ok := s.(*ast.TypeSpec)
				if !ok || ts.Name.Name != iface {
					continue
				}
				it, ok := ts.Type.(*ast.InterfaceType)
				require.True(t, ok, "%s is not an interface", iface)
				var out []string
				for _, m := range it.Methods.List {
					for _, n := range m.Names {
						out = append(out, n.Name)
					}
				}
				return out
			}
		}
	}
	t.Fatalf("package api declares no interface %s", iface)
	return nil
}

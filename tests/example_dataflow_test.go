package tests

import (
	"bytes"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/scaleout/scaleout/client"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/tasktypes"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/localstack/standins"
)

// dataflowExample is the example project the test deploys.
const dataflowExample = "../examples/dataflow-s3-to-postgres"

// orderLine is one line of an order file the test writes, and where the
// example's data flow must put it.
type orderLine struct {
	fields []string // order_id, customer_id, amount, ordered_on (or more, or fewer)
	// component is the component that refuses the line ("read",
	// "convert", "customers"), or "" for a line that loads.
	component string
	large     bool // loads into large_orders rather than orders
}

// orderFiles makes the order files: rows of known customers with amounts
// on both sides of large, plus lines the flow must refuse — a wrong number
// of fields, values that do not convert, customers it does not know — in
// random places. It returns the files' text by name and every line.
func orderFiles(rng *rand.Rand, customers []int64, large float64, files, rows int) (map[string]string, []orderLine) {
	bad := [][]string{
		{"x", "1", "10.00", "2026-11-24"},         // an id that is not a number
		{"", "2", "10.00", "2026-11-24"},          // no id
		{"", "", "", ""},                          // nothing at all
		{"1", "two", "10.00", "2026-11-24"},       // a customer that is not a number
		{"1", "3", "12,50", "2026-11-24"},         // a decimal comma
		{"1", "4", "10.00", "2026-02-30"},         // no such day
		{"1", "5", "10.00", "24/11/2026"},         // not an ISO date
		{"1", "1", "10.00", "2026-11-24", "more"}, // a field too many
		{"1", "1", "10.00"},                       // a field too few
	}
	var lines []orderLine
	out := map[string]string{}
	id := 0
	for f := range files {
		var b strings.Builder
		w := csv.NewWriter(&b)
		_ = w.Write([]string{"order_id", "customer_id", "amount", "ordered_on"})
		for range rows {
			id++
			var l orderLine
			switch r := rng.IntN(100); {
			case r < 4: // a line that cannot be loaded as it is
				l.fields = slices.Clone(bad[rng.IntN(len(bad))])
				if l.fields[0] == "1" {
					l.fields[0] = strconv.Itoa(id) // a unique id, to tell the lines apart in the error file
				}
				switch {
				case len(l.fields) != 4:
					l.component = "read"
				default:
					l.component = "convert"
				}
			case r < 8: // a customer nobody knows
				l.fields = []string{strconv.Itoa(id), strconv.Itoa(1000 + rng.IntN(50)), fmt.Sprintf("%.2f", rng.Float64()*2*large), "2026-11-24"}
				l.component = "customers"
			default:
				amount := float64(rng.IntN(int(2*large*100))) / 100
				day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(30))
				l.fields = []string{strconv.Itoa(id), strconv.FormatInt(customers[rng.IntN(len(customers))], 10),
					strconv.FormatFloat(amount, 'f', 2, 64), day.Format(time.DateOnly)}
				l.large = amount >= large
			}
			lines = append(lines, l)
			// encoding/csv refuses records of other lengths only when
			// reading: written as they are, one line each.
			_ = w.Write(l.fields)
		}
		w.Flush()
		out[fmt.Sprintf("incoming/2026-11-%02d.csv", 24+f)] = b.String()
	}
	return out, lines
}

// validateProject checks the example's packages against the package
// schema, and as `scaleout package validate` checks a file but with what
// the project gives them, as the API does when the folder is deployed:
// the project's parameters and connections are the packages' own.
func validateProject(t *testing.T, dir string) {
	t.Helper()
	b, err := client.ReadBundle(os.DirFS(dir))
	require.NoError(t, err)
	require.NoError(t, pkgfile.ValidateConnections(b.Connections, b.Parameters))
	require.NotEmpty(t, b.Files["sql/create.sql"])
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(pkgfile.Schema()))
	require.NoError(t, err)
	compiler := jsonschema.NewCompiler()
	compiler.DefaultDraft(jsonschema.Draft2020)
	require.NoError(t, compiler.AddResource("schema.json", schemaDoc))
	schema, err := compiler.Compile("schema.json")
	require.NoError(t, err)
	types := tasktypes.NewRegistry()
	for name, text := range b.Packages {
		var tree any
		require.NoError(t, yaml.Unmarshal([]byte(text), &tree), "package %s", name)
		asJSON, err := json.Marshal(tree)
		require.NoError(t, err)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(asJSON))
		require.NoError(t, err)
		require.NoError(t, schema.Validate(doc), "package %s and the schema its editors check it with", name)
		p, err := pkgfile.Parse([]byte(text), name)
		require.NoError(t, err)
		p.Parameters = mergeDecl(p.Parameters, b.Parameters)
		p.Connections = mergeDecl(p.Connections, b.Connections)
		require.NoError(t, pkgfile.Validate(p, types), "package %s", name)
	}
}

// mergeDecl adds the project's declarations a package does not make.
func mergeDecl[T any](own, project map[string]T) map[string]T {
	out := maps.Clone(project)
	if out == nil {
		out = map[string]T{}
	}
	maps.Copy(out, own)
	return out
}

// The data flow example, end to end: validated, then deployed and run
// with the README's two commands as written (`scaleout deploy`, `scaleout
// run --wait`, the test's bucket and database as the parameters) by
// scaleout dev's worker against the S3 stand-in and a PostgreSQL server of
// the test's own, the run's output matching the README's. The order
// files' rows are in the tables the split chose, the bad rows are in the
// error file with the component that refused them and why, and the row
// counts reached the package's variables.
func TestExampleDataflowS3ToPostgres(t *testing.T) {
	validateProject(t, dataflowExample)
	d := postgres(t)
	bucket := testenv.S3Bucket(t)
	ctx := t.Context()

	db, err := sql.Open(d.Driver, d.DSN())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	// The reference the lookup reads: the example's own customers (it adds
	// them when they are not there) and one of the test's, which only the
	// database knows.
	create, err := os.ReadFile(dataflowExample + "/sql/create.sql")
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, string(create))
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "INSERT INTO customers (id, name, region) VALUES (77, 'Test Customer', 'test')")
	require.NoError(t, err)
	seed, err := os.ReadFile(dataflowExample + "/sql/customers.sql")
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, string(seed))
	require.NoError(t, err)
	var customers []int64
	rows, err := db.QueryContext(ctx, "SELECT id FROM customers ORDER BY id")
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		customers = append(customers, id)
	}
	require.NoError(t, rows.Err())
	require.Greater(t, len(customers), 1)

	seedValue := uint64(time.Now().UnixNano())
	t.Logf("order files from seed %d", seedValue)
	const large = 750.0
	files, lines := orderFiles(rand.New(rand.NewPCG(seedValue, 17)), customers, large, 3, 1500)
	files["incoming/notes.txt"] = "not an order file"
	files["archive/2026-11-01.csv"] = "order_id,customer_id,amount,ordered_on\n999999,1,1.00,2026-11-01\n"
	for key, body := range files {
		_, err := bucket.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket.Bucket), Key: aws.String(key), Body: strings.NewReader(body)})
		require.NoError(t, err)
	}
	want := map[string]int{}
	wantBad := map[string]string{} // order_id → component, for lines with a unique id
	for _, l := range lines {
		switch {
		case l.component != "":
			want["bad"]++
			if _, err := strconv.Atoi(l.fields[0]); err == nil {
				wantBad[l.fields[0]] = l.component
			}
		case l.large:
			want["large_orders"]++
		default:
			want["orders"]++
		}
	}
	require.NotZero(t, want["bad"])
	require.NotZero(t, want["large_orders"])
	require.NotZero(t, want["orders"])

	// The README's two commands, as written, with the test's bucket and
	// database in the parameters.
	deployArgs, runArgs, wantOut := readmeDataflowCommands(t)
	bin := buildScaleout(t)
	dev := startDev(t, bin)
	cliEnv := append(os.Environ(), "SCALEOUT_ENDPOINT="+dev.base, "SCALEOUT_TOKEN="+token)
	deploy := exec.CommandContext(ctx, bin, deployArgs...)
	deploy.Dir, deploy.Env = "..", cliEnv
	out, err := deploy.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "deployed demo/dataflow-s3-to-postgres version 1 (")

	params := map[string]string{
		"bucket": bucket.Bucket, "prefix": "incoming/", "s3_endpoint": bucket.Endpoint, "path_style": "true", "region": standins.Region,
		"db_host": d.Host, "db_port": strconv.Itoa(d.Port), "db_name": d.Name, "db_user": d.User, "db_password": d.Password,
		"db_sslmode": "disable", "large_amount": strconv.FormatFloat(large, 'f', -1, 64),
	}
	run := exec.CommandContext(ctx, bin, withParams(t, runArgs, params)...)
	run.Dir, run.Env = "..", cliEnv
	out, err = run.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.NoError(t, matchOutput(wantOut, string(out), token), "the README's output of `scaleout run`")
	id := regexp.MustCompile(`^execution (\S+) `).FindStringSubmatch(string(out))
	require.NotNil(t, id, "%s", out)
	e := execution{ID: id[1]}
	got := waitFinal(t, dev, e.ID)
	msgs := messages(t, dev, e.ID)
	require.Equal(t, "succeeded", got.Status, "%s\n%v", got.Error, msgs)
	require.Equal(t, "***", got.Parameters["db_password"])
	for _, m := range msgs {
		require.NotContains(t, m.Message, d.Password)
	}

	// The tables hold the rows the split chose for them, each with its
	// customer's name and region from the lookup.
	for _, table := range []string{"orders", "large_orders"} {
		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n))
		assert.Equal(t, want[table], n, "rows in %s", table)
		var below int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" WHERE amount < $1", large).Scan(&below))
		if table == "large_orders" {
			assert.Zero(t, below, "large_orders has orders under %v", large)
		} else {
			assert.Equal(t, n, below, "orders has orders of %v or more", large)
		}
		var unnamed int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" o JOIN customers c ON c.id = o.customer_id WHERE o.customer_name <> c.name OR o.region <> c.region").Scan(&unnamed))
		assert.Zero(t, unnamed, "rows of %s with another customer's name or region", table)
	}
	var archived int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM orders WHERE id = 999999").Scan(&archived))
	assert.Zero(t, archived, "a file outside the prefix was read")
	var sum string
	require.NoError(t, db.QueryRowContext(ctx, "SELECT coalesce(sum(amount), 0)::text FROM (SELECT amount FROM orders UNION ALL SELECT amount FROM large_orders) a").Scan(&sum))
	assert.Equal(t, loadedSum(lines), sum, "the amounts loaded")

	// The error file holds exactly the bad rows, with the component that
	// refused each and why.
	key := "errors/" + e.ID + ".csv"
	obj, err := bucket.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket.Bucket), Key: aws.String(key)})
	require.NoError(t, err, "the error file %s", key)
	body, err := io.ReadAll(obj.Body)
	_ = obj.Body.Close()
	require.NoError(t, err)
	r := csv.NewReader(strings.NewReader(string(body)))
	records, err := r.ReadAll()
	require.NoError(t, err, "%s", body)
	require.NotEmpty(t, records)
	assert.Equal(t, []string{"order_id", "customer_id", "amount", "ordered_on", "error_component", "error_reason"}, records[0])
	records = records[1:]
	assert.Len(t, records, want["bad"], "rows in the error file")
	gotBad := map[string]string{}
	byComponent := map[string]int{}
	for _, rec := range records {
		require.Len(t, rec, 6)
		component, reason := rec[4], rec[5]
		byComponent[component]++
		assert.NotEmpty(t, reason, "a row without a reason: %v", rec)
		if component == "customers" {
			assert.Equal(t, "no customer "+rec[1], reason)
		}
		if _, err := strconv.Atoi(rec[0]); err == nil {
			gotBad[rec[0]] = component
		}
	}
	assert.Equal(t, wantBad, gotBad, "the bad rows with an id, and the component that refused each")
	wantByComponent := map[string]int{}
	for _, l := range lines {
		if l.component != "" {
			wantByComponent[l.component]++
		}
	}
	assert.Equal(t, wantByComponent, byComponent, "bad rows per component")

	// The row counts reached the variables: the sql task logged them and
	// the last task printed them.
	var loaded, rejected int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT loaded, rejected FROM load_log WHERE execution_id = $1", e.ID).Scan(&loaded, &rejected))
	assert.Equal(t, want["orders"]+want["large_orders"], loaded, "vars.loaded")
	assert.Equal(t, want["bad"], rejected, "vars.rejected")
	outLines := outputLines(msgs)
	assert.Contains(t, outLines, fmt.Sprintf("report stdout: loaded %d orders; %d bad rows in %s", loaded, rejected, key))
	stats := ""
	for _, l := range outLines {
		if strings.HasPrefix(l, "load : dataflow:") {
			stats = l
		}
	}
	assert.Contains(t, stats, fmt.Sprintf("split.large=%d ", want["large_orders"]), "the flow's statistics line")
	assert.Contains(t, stats, fmt.Sprintf("split.other=%d ", want["orders"]))
	assert.Contains(t, stats, fmt.Sprintf("read.out=%d ", len(lines)-wantByComponent["read"]))
	assert.Contains(t, stats, fmt.Sprintf("read.error=%d ", wantByComponent["read"]))
	assert.Contains(t, stats, fmt.Sprintf("rows_rejected=%d ", wantByComponent["read"]+wantByComponent["convert"]),
		"rows_rejected counts the rows components rejected; a lookup's no_match is an output")
}

// readmeDataflowCommands are the commands of the README's "Example: a
// data flow from S3 to PostgreSQL" (their arguments after `scaleout`) and
// the output it shows for the run.
func readmeDataflowCommands(t *testing.T) (deploy, run, output []string) {
	t.Helper()
	text, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	const heading = "### Example: a data flow from S3 to PostgreSQL"
	var section []string
	in := false
	for _, line := range strings.Split(string(text), "\n") {
		switch {
		case line == heading:
			in = true
		case in && (strings.HasPrefix(line, "## ") || strings.HasPrefix(line, "### ")):
			in = false
		case in:
			section = append(section, line)
		}
	}
	require.NotEmpty(t, section, "README.md has no section %q", heading)
	// parseReadme reads the blocks of "## " sections: the subsection as one.
	blocks, err := parseReadme("## "+strings.TrimPrefix(heading, "### ")+"\n"+strings.Join(section, "\n"), []string{strings.TrimPrefix(heading, "### ")})
	require.NoError(t, err)
	require.Len(t, blocks, 1, "the section's shell blocks")
	require.Len(t, blocks[0].Segments, 1, "the section's commands and output")
	seg := blocks[0].Segments[0]
	var cmds [][]string
	for _, line := range strings.Split(strings.ReplaceAll(seg.Code, "\\\n", " "), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			require.Equal(t, "scaleout", f[0], "README.md:%d: %s", seg.Line, line)
			cmds = append(cmds, f[1:])
		}
	}
	require.Len(t, cmds, 2, "README.md:%d: a deploy and a run", seg.Line)
	require.Equal(t, "deploy", cmds[0][0])
	require.Equal(t, "run", cmds[1][0])
	return cmds[0], cmds[1], seg.Expected
}

// withParams gives run's --param flags the values of params (each one the
// README names must be there) and adds the params it does not name.
func withParams(t *testing.T, run []string, params map[string]string) []string {
	t.Helper()
	out := slices.Clone(run)
	given := map[string]bool{}
	for i := 0; i < len(out)-1; i++ {
		if out[i] != "--param" {
			continue
		}
		k, _, ok := strings.Cut(out[i+1], "=")
		require.True(t, ok, "--param %s", out[i+1])
		v, known := params[k]
		require.True(t, known, "the README gives parameter %s, which the test does not", k)
		out[i+1] = k + "=" + v
		given[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if !given[k] {
			out = append(out, "--param", k+"="+params[k])
		}
	}
	return out
}

// loadedSum is the sum of the amounts of the lines that load, as
// PostgreSQL prints a numeric(12, 2).
func loadedSum(lines []orderLine) string {
	var cents int64
	for _, l := range lines {
		if l.component == "" {
			whole, frac, _ := strings.Cut(l.fields[2], ".")
			w, _ := strconv.ParseInt(whole, 10, 64)
			f, _ := strconv.ParseInt(frac, 10, 64)
			cents += w*100 + f
		}
	}
	return fmt.Sprintf("%d.%02d", cents/100, cents%100)
}

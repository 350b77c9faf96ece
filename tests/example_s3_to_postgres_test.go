package tests

import (
	"database/sql"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/dbtest"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/localstack/standins"
)

// postgres starts a PostgreSQL server of the test's own (dbtest's, on a
// loopback port), stopped when the test ends. The tests package's TestMain
// is testenv's, so dbtest.Start rather than dbtest.Postgres.
func postgres(t *testing.T) dbtest.Database {
	t.Helper()
	if os.Getenv(dbtest.SkipEnv) == "1" {
		t.Skipf("%s=1: the tests that need a PostgreSQL server are skipped", dbtest.SkipEnv)
	}
	d, stop, err := dbtest.Start(dbtest.KindPostgres)
	require.NoError(t, err)
	t.Cleanup(func() { _ = stop() })
	return d
}

// The S3-to-PostgreSQL example, end to end: deployed with `scaleout deploy`
// through the API, run by scaleout dev's worker with the database's
// coordinates as parameters (the password a sensitive one), against the S3
// stand-in and a PostgreSQL server: every CSV file under the prefix is
// loaded, the others are not, and the counts are recorded.
func TestExampleS3ToPostgres(t *testing.T) {
	d := postgres(t)
	bucket := testenv.S3Bucket(t)
	ctx := t.Context()
	files := map[string]string{
		"incoming/2026-11-24.csv": "id,region,amount\n1,eu,10.50\n2,us,20.00\n3,eu,\n",
		"incoming/2026-11-25.csv": "id,region,amount\n4,us,7.25\n5,\"ap, south\",1\n",
		"incoming/notes.txt":      "not a CSV file",
		"archive/2026-11-01.csv":  "id,region,amount\n99,eu,1\n",
	}
	for key, body := range files {
		_, err := bucket.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket.Bucket), Key: aws.String(key), Body: strings.NewReader(body)})
		require.NoError(t, err)
	}

	bin := buildScaleout(t)
	dev := startDev(t, bin)
	folder := testenv.Name("demo")
	deploy := exec.CommandContext(ctx, bin, "deploy", "../examples/s3-to-postgres", "--folder", folder)
	deploy.Env = append(os.Environ(), "SCALEOUT_ENDPOINT="+dev.base, "SCALEOUT_TOKEN="+token)
	out, err := deploy.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "deployed "+folder+"/s3-to-postgres version 1 (")
	require.Contains(t, string(out), ": load-files)")

	e := post(t, dev, map[string]any{"folder": folder, "project": "s3-to-postgres", "package": "load-files", "parameters": map[string]any{
		"bucket": bucket.Bucket, "s3_endpoint": bucket.Endpoint, "path_style": true, "region": standins.Region,
		"db_host": d.Host, "db_port": d.Port, "db_name": d.Name, "db_user": d.User, "db_password": d.Password, "db_sslmode": "disable",
	}})
	got := waitFinal(t, dev, e.ID)
	msgs := messages(t, dev, e.ID)
	require.Equal(t, "succeeded", got.Status, "%s\n%v", got.Error, msgs)
	require.Equal(t, "***", got.Parameters["db_password"])

	db, err := sql.Open(d.Driver, d.DSN())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	var ids []int
	rows, err := db.QueryContext(ctx, "SELECT id FROM sales ORDER BY id")
	require.NoError(t, err)
	for rows.Next() {
		var id int
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []int{1, 2, 3, 4, 5}, ids, "the CSV files under the prefix, and no others")
	var region string
	require.NoError(t, db.QueryRowContext(ctx, "SELECT region FROM sales WHERE id = 5").Scan(&region))
	assert.Equal(t, "ap, south", region)

	logged := map[string]int{}
	rows, err = db.QueryContext(ctx, "SELECT file, rows FROM load_log WHERE execution_id = $1", e.ID)
	require.NoError(t, err)
	for rows.Next() {
		var file string
		var n int
		require.NoError(t, rows.Scan(&file, &n))
		logged[file] = n
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, map[string]int{"incoming/2026-11-24.csv": 3, "incoming/2026-11-25.csv": 2}, logged)

	lines := outputLines(msgs)
	assert.Contains(t, lines, "each-file[incoming/2026-11-24.csv]/load : loaded 3 rows from incoming/2026-11-24.csv into sales")
	assert.Contains(t, lines, "each-file[incoming/2026-11-25.csv]/load : loaded 2 rows from incoming/2026-11-25.csv into sales")
	assert.Contains(t, lines, "report stdout: loaded 5 rows from 2 files; load_log says 5")
	for _, m := range msgs {
		require.NotContains(t, m.Message, d.Password)
	}

	// A file with a bad row fails the run with the server's message, and
	// loads nothing of that file.
	_, err = bucket.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket.Bucket), Key: aws.String("next/bad.csv"),
		Body: strings.NewReader("id,region,amount\n6,eu,1\nseven,eu,2\n")})
	require.NoError(t, err)
	e = post(t, dev, map[string]any{"folder": folder, "project": "s3-to-postgres", "package": "load-files", "parameters": map[string]any{
		"bucket": bucket.Bucket, "prefix": "next/", "s3_endpoint": bucket.Endpoint, "path_style": true,
		"db_host": d.Host, "db_port": d.Port, "db_name": d.Name, "db_user": d.User, "db_password": d.Password, "db_sslmode": "disable",
	}})
	got = waitFinal(t, dev, e.ID)
	require.Equal(t, "failed", got.Status)
	var failed string
	for _, tk := range got.Tasks {
		if tk.Error != "" {
			failed += tk.Path + ": " + tk.Error + "\n"
		}
	}
	assert.Contains(t, failed, `invalid input syntax for type integer: "seven"`)
	assert.Contains(t, failed, "line 3")
	var n int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM sales WHERE id = 6").Scan(&n))
	assert.Zero(t, n)
}

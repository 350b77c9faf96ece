package tests

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The console shows what a package is on its execution's page: each task's
// type and what it does (an sql task's connection and statement, an s3
// task's operation and objects), containers' tasks under them, and the
// package's connections by kind and where they go, never a password: the
// sensitive parameter's value appears nowhere on the page.
func TestBrowserShowsThePackage(t *testing.T) {
	p := openBrowser(t)
	d := startDev(t, buildScaleout(t))
	const secret = "hunter2-do-not-show"
	def := `name: load-orders
parameters:
  db_password: {type: string, sensitive: true}
connections:
  warehouse: {kind: postgres, host: db.example.internal, port: 5433, database: sales, user: loader,
              password: "${params.db_password}", options: {sslmode: require}}
  inbox: {kind: s3, bucket: orders-inbox, region: eu-west-1}
tasks:
  - name: gate
    type: fail
    with: {message: not today}
  - name: fetch
    type: s3
    after: [{task: gate}]
    with: {connection: inbox, op: get, glob: "incoming/*.csv", newer_than: 24h, to: data/}
  - name: load
    type: sequence
    after: [{task: fetch}]
    transaction: {connection: warehouse}
    tasks:
      - name: insert
        type: sql
        with: {connection: warehouse, statement: "INSERT INTO orders SELECT * FROM staging", result: rows_affected}
  - name: stage
    type: bulk_insert
    after: [{task: fetch}]
    with: {connection: warehouse, file: data/orders.csv, schema: stage, table: orders, columns: [id, amount]}
`
	e := post(t, d, map[string]any{"definition": def, "parameters": map[string]any{"db_password": secret}})
	got := waitFinal(t, d, e.ID)
	require.Equal(t, "failed", got.Status, "the gate fails, the rest is skipped: %s", got.Error)

	p.do("sign in", 30*time.Second,
		chromedp.Navigate(d.base+"/ui/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.ID("signin-submit")),
		chromedp.WaitVisible(chromedp.ID("overview-view")))
	p.do("open the execution", 30*time.Second,
		chromedp.Navigate(d.base+"/ui/#/executions/"+e.ID),
		chromedp.WaitVisible(chromedp.CSS(`#exec-package[data-for="`+e.ID+`"]`)))
	p.waitFor("the package's tasks show with their types",
		`document.querySelector('#exec-definition tr[data-task="fetch"][data-type="s3"]')?.textContent.includes("get · on inbox · glob incoming/*.csv · newer than 24h · to data/")`+
			` && document.querySelector('#exec-definition tr[data-task="load"][data-type="sequence"]')?.textContent.includes("transaction on warehouse")`+
			` && document.querySelector('#exec-definition tr[data-task="insert"][data-type="sql"] td.depth-1')`+
			` && document.querySelector('#exec-definition tr[data-task="insert"]').textContent.includes("on warehouse · INSERT INTO orders SELECT * FROM staging · → rows_affected")`+
			` && document.querySelector('#exec-definition tr[data-task="stage"][data-type="bulk_insert"]')?.textContent.includes("data/orders.csv · into stage.orders · on warehouse · columns id, amount")`,
		30*time.Second)
	p.waitFor("the connections show by kind and where they go",
		`document.querySelector('#exec-connections tr[data-connection="warehouse"][data-kind="postgres"]')?.textContent.includes("loader@db.example.internal:5433/sales · sslmode=require · password from a sensitive parameter")`+
			` && document.querySelector('#exec-connections tr[data-connection="inbox"][data-kind="s3"]')?.textContent.includes("bucket orders-inbox · region eu-west-1")`,
		10*time.Second)
	text, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	require.NoError(t, err)
	require.NotContains(t, text, secret, "no password on the page")
	require.NotContains(t, text, "${params.db_password}", "not even where it comes from, beyond that it is sensitive")
	p.screenshot("console-package.png")
	require.Empty(t, p.consoleErrors())
}

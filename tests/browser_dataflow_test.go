package tests

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The console's execution page shows a dataflow task's rows per path, its
// totals and its tapped rows as a small table, with the sensitive value
// redacted; a task without a data flow gets no block.
func TestBrowserShowsDataFlowStatistics(t *testing.T) {
	p := openBrowser(t)
	d := startDev(t, buildScaleout(t))
	e := runFlow(t, d)

	p.do("sign in", 30*time.Second,
		chromedp.Navigate(d.base+"/ui/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.ID("signin-submit")),
		chromedp.WaitVisible(chromedp.ID("overview-view")))
	p.do("open the execution", 30*time.Second,
		chromedp.Navigate(d.base+"/ui/#/executions/"+e.ID),
		chromedp.WaitVisible(chromedp.ID("exec-dataflow")))
	const flow = `document.querySelector('#exec-dataflows .dataflow[data-task="flow"]')`
	rows := func(path string) string {
		return flow + `?.querySelector('tr[data-path="` + path + `"] td.num')?.textContent`
	}
	p.waitFor("each path shows its row count",
		rows("read.out")+` === "5" && `+rows("derive.out")+` === "5" && `+rows("split.eu")+` === "3" && `+rows("split.other")+` === "2"`,
		30*time.Second)
	p.waitFor("the totals show",
		flow+`.querySelector('.totals').textContent.startsWith("5 rows read · 5 written · 0 rejected · batches held at most ")`,
		5*time.Second)
	p.waitFor("the tap shows as a table under its columns",
		flow+`.querySelector('.tap[data-tap="derive.out"] .sub').textContent === "First 3 rows of derive.out"`+
			` && [...`+flow+`.querySelectorAll('.tap th')].map(th => th.textContent).join(",") === "id,region,amount,tag"`+
			` && [...`+flow+`.querySelectorAll('.tap tbody tr')].map(tr => [...tr.cells].map(c => c.textContent).join("|")).join(";") === "1|eu|12.5|eu:***;2|us|80|us:***;3|eu|7|eu:***"`,
		5*time.Second)
	n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#exec-dataflows .dataflow').length`))
	require.NoError(t, err)
	require.Equal(t, 1, n, "one block: the exec task has none")
	text, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	require.NoError(t, err)
	require.NotContains(t, text, flowSecret, "the sensitive value shows nowhere")
	p.screenshot("console-dataflow.png")
	require.Empty(t, p.consoleErrors())
}

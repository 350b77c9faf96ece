package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// chromiumPath is Debian's Chromium, which tools/chromium/install.sh installs.
const chromiumPath = "/usr/bin/chromium"

// screenshotDir is where the browser test saves its screenshots:
// SCALEOUT_SCREENSHOT_DIR, or tests/testdata/out (git-ignored).
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SCALEOUT_SCREENSHOT_DIR")
	if dir == "" {
		dir = filepath.Join("testdata", "out")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	abs, err := filepath.Abs(dir)
	require.NoError(t, err)
	return abs
}

// page is one headless Chromium tab, with what its console said.
type page struct {
	t   *testing.T
	ctx context.Context
	dir string

	mu      sync.Mutex
	console []string // errors and exceptions
}

// openBrowser starts headless Chromium with a fresh profile. Without
// Chromium the test fails (SCALEOUT_SKIP_BROWSER=1 skips it instead).
func openBrowser(t *testing.T) *page {
	t.Helper()
	if os.Getenv("SCALEOUT_SKIP_BROWSER") == "1" {
		t.Skip("SCALEOUT_SKIP_BROWSER=1: the browser test is skipped")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Debian's Chromium at %s (%v): run `bash tools/chromium/install.sh` "+
			"(as root, or with sudo), or set SCALEOUT_SKIP_BROWSER=1 to skip this test", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// This machine's network is closed: Chromium must not try to reach
		// anything but the page.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser with no deadline (a deadline on the first call
	// would end the browser with it).
	require.NoError(t, chromedp.Do(ctx), "start %s", chromiumPath)

	p := &page{t: t, ctx: ctx, dir: screenshotDir(t)}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// The browser logs the 401 of the wrong token the test signs in
			// with; any other error is the page's.
			if (m.IsException() || m.Type == chromedp.ConsoleError) && !strings.Contains(m.Text, "status of 401") {
				p.mu.Lock()
				p.console = append(p.console, fmt.Sprintf("%s %s:%d %s", m.Type, m.URL, m.Line+1, m.Text))
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// do runs actions within timeout; on failure it saves a screenshot of the
// page as it was and fails the test with what it was doing.
func (p *page) do(what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail(what, err)
	}
}

// waitFor polls a JavaScript expression until it is true.
func (p *page) waitFor(what, expression string, timeout time.Duration) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expression,
		chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		p.fail(what, err)
	}
}

func (p *page) attr(what, selector, name string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(selector), name))
	if err != nil || !res.Exists {
		p.fail(what, fmt.Errorf("attribute %s of %s: exists %v, %v", name, selector, res.Exists, err))
	}
	return res.Value
}

func (p *page) fail(what string, err error) {
	p.t.Helper()
	path := p.screenshot("failure.png")
	p.t.Fatalf("%s: %v\n(the page then: %s)\nconsole: %v", what, err, path, p.consoleErrors())
}

// screenshot saves the whole page as a PNG in the screenshot folder.
func (p *page) screenshot(name string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(p.dir, name)
	require.NoError(p.t, os.WriteFile(path, png, 0o644))
	p.t.Logf("screenshot: %s", path)
	return path
}

func (p *page) consoleErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...)
}

// jsString quotes s for a JavaScript expression.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// The web console against `scaleout dev`, in headless Chromium: a wrong
// token is refused; signed in, it sees the worker, disables and enables it
// (and the registry agrees), runs a command from the Run form, sees it
// succeed in the filtered executions table, reads the dashboard's figures,
// opens the execution with its messages, and stops a running one. It saves
// screenshots in the screenshot folder (and docs/screenshot.png with
// SCALEOUT_README_SCREENSHOT=1).
func TestBrowserConsole(t *testing.T) {
	p := openBrowser(t)
	workerID := testenv.Name("browser-worker")
	t.Setenv("SCALEOUT_WORKER_ID", workerID)
	d := startDev(t, buildScaleout(t))

	// Some work beside the test's own, so that the figures, the packages
	// and the screenshot have something to show, and one that runs until
	// the page stops it.
	var background []execution
	for _, job := range []struct{ pkg, script string }{
		{"load-sales", "echo extracting; sleep 1; echo 1250 rows loaded"},
		{"refresh-dims", "echo dimensions refreshed"},
		{"load-sales", "echo extracting; sleep 2; echo 980 rows loaded"},
		{"export-report", "echo 'report: upstream file missing' >&2; exit 3"},
	} {
		background = append(background, post(t, d, map[string]any{
			"folder": "finance", "project": "daily", "package": job.pkg, "command": []string{"sh", "-c", job.script},
		}))
	}
	long := post(t, d, map[string]any{"folder": "marketing", "project": "crm", "package": "sync-contacts",
		"command": []string{"sh", "-c", "echo syncing contacts; sleep 300"}})

	// The page: / leads to /ui/, which asks for the token.
	p.do("open the console", 30*time.Second,
		chromedp.Navigate(d.base+"/"),
		chromedp.WaitVisible(chromedp.ID("token")))
	p.screenshot("console-signin.png")
	// A wrong token is refused, and the page asks again.
	p.do("sign in with a wrong token", 30*time.Second,
		chromedp.SendKeys(chromedp.ID("token"), "not-the-token-0123456789"),
		chromedp.Click(chromedp.ID("signin-submit")),
		chromedp.WaitVisible(chromedp.ID("signin-error")))
	p.waitFor("the page says the token was refused",
		`document.getElementById("signin-error").textContent.includes("401")`, 10*time.Second)
	p.do("sign in", 30*time.Second,
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.ID("signin-submit")),
		chromedp.WaitVisible(chromedp.ID("overview-view")),
	)

	// The command line is split as a shell splits it.
	t.Run("splitCommand", func(t *testing.T) {
		for line, want := range map[string][]string{
			`sh -c "echo hello"`:   {"sh", "-c", "echo hello"},
			`sh -c 'echo "a b"' x`: {"sh", "-c", `echo "a b"`, "x"},
			`a\ b "" c`:            {"a b", "", "c"},
			`  echo  "x\"y"  'z\'`: {"echo", `x"y`, `z\`},
			`python3 -m etl --date=` + "\t" + `2026-11-25`: {"python3", "-m", "etl", "--date=", "2026-11-25"},
		} {
			got, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](
				`import("./format.js").then(m => m.splitCommand(`+jsString(line)+`))`, chromedp.EvalAwaitPromise))
			require.NoError(t, err, line)
			require.Equal(t, want, got, line)
		}
	})

	// How long ago reads naturally, and a day is never shown as 24 h or more.
	t.Run("ago", func(t *testing.T) {
		const now = 1_795_000_000_000 // ms
		for before, want := range map[int64]string{
			1:                 "just now",
			12:                "12 s ago",
			5*60 + 3:          "5 min ago",
			3*3600 + 5*60:     "3 h ago",
			23*3600 + 40*60:   "23 h ago",
			24*3600 + 56*60:   "1 d ago",
			50 * 3600:         "2 d 2 h ago",
			12*86400 + 5*3600: "12 d ago",
			-60:               "just now",
		} {
			got, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](
				fmt.Sprintf(`import("./format.js").then(m => m.ago(new Date(%d), %d))`, now-before*1000, int64(now)), chromedp.EvalAwaitPromise))
			require.NoError(t, err, before)
			require.Equal(t, want, got, before)
		}
	})

	// The worker of this `scaleout dev`, online and enabled.
	row := fmt.Sprintf(`tr[data-worker-id=%q]`, workerID)
	p.do("see the worker", 30*time.Second,
		chromedp.WaitVisible(chromedp.CSS(row+`[data-online="true"][data-enabled="true"]`)))

	// Disable it from the page, and the registry says so; then enable it.
	for _, step := range []struct {
		button  string
		enabled bool
	}{{"Disable", false}, {"Enable", true}} {
		p.waitFor("the worker's button reads "+step.button,
			fmt.Sprintf(`document.querySelector(%s)?.textContent === %s`, jsString(row+` [data-testid="worker-toggle"]`), jsString(step.button)),
			10*time.Second)
		p.do("click "+step.button, 20*time.Second,
			chromedp.Click(chromedp.CSS(row+` [data-testid="worker-toggle"]`)),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`%s[data-enabled="%t"]`, row, step.enabled))),
		)
		var w struct {
			Enabled bool `json:"enabled"`
		}
		require.Equal(t, http.StatusOK, call(t, "GET", d.base+"/v1/workers/"+workerID, "", &w))
		require.Equal(t, step.enabled, w.Enabled, "after %s, the registry has the worker enabled=%v", step.button, w.Enabled)
	}

	// Run a command from the form.
	pkg := testenv.Name("hello")
	p.do("start an execution from the Run form", 20*time.Second,
		chromedp.SendKeys(chromedp.ID("run-package"), pkg),
		chromedp.SendKeys(chromedp.ID("run-command"), `sh -c "echo hello from the browser; echo done >&2"`),
		chromedp.Click(chromedp.ID("run-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#run-result[data-execution-id] a[data-testid="run-link"]`)),
	)
	id := p.attr("read the new execution's id", "#run-result", "data-execution-id")
	t.Logf("execution %s started from the page", id)

	// Filtered to its package, the table shows it until it succeeds.
	p.do("filter the executions by package", 10*time.Second,
		chromedp.SendKeys(chromedp.ID("filter-package"), pkg))
	p.do("see the execution succeed", 60*time.Second,
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-execution-id=%q][data-status="succeeded"]`, id))))
	p.waitFor("only the package's executions are listed",
		`[...document.querySelectorAll('#executions-body tr[data-execution-id]')].length === 1`, 10*time.Second)

	// Unfiltered again, with every execution ended and counted by the stream
	// poller: the dashboard's figures show them.
	for _, e := range background {
		waitFinal(t, d, e.ID)
	}
	p.do("clear the filters", 10*time.Second, chromedp.Click(chromedp.ID("filter-clear")))
	p.waitFor("the figures count the ended executions and the running one",
		`Number(document.getElementById("fig-succeeded").textContent) >= 4 && Number(document.getElementById("fig-failed").textContent) >= 1`+
			` && Number(document.getElementById("fig-running").textContent) >= 1`+
			` && document.querySelectorAll('#executions-body tr[data-execution-id]').length >= 6`+
			` && document.querySelectorAll('#packages-body tr[data-testid="package-row"]').length >= 4`, 60*time.Second)
	overview := p.screenshot("console-overview.png")
	if os.Getenv("SCALEOUT_README_SCREENSHOT") == "1" {
		png, err := os.ReadFile(overview)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join("..", "docs"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join("..", "docs", "screenshot.png"), png, 0o644))
		t.Logf("README screenshot: docs/screenshot.png")
	}

	// Its page: status, stages, tasks and the messages with its output.
	p.do("open the execution", 20*time.Second,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[data-testid="execution-link"][href=%q]`, "#/executions/"+id))),
		chromedp.WaitVisible(chromedp.CSS(`#exec-status[data-status="succeeded"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#messages-state[data-state="complete"]`)),
	)
	p.waitFor("see the execution's output among its messages",
		`[...document.querySelectorAll('#messages [data-kind="output"]')].some(m => m.textContent.includes("hello from the browser"))`+
			` && [...document.querySelectorAll('#messages [data-kind="output"].stderr')].some(m => m.textContent.includes("done"))`, 10*time.Second)
	p.screenshot("console-execution.png")

	// The running one: back to the list, open it, stop it (the button asks
	// twice), and it ends canceled.
	p.do("go back to the executions", 10*time.Second,
		chromedp.Click(chromedp.ID("back")),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-execution-id=%q][data-status="running"]`, long.ID))))
	p.do("stop the running execution", 60*time.Second,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[data-testid="execution-link"][href=%q]`, "#/executions/"+long.ID))),
		chromedp.WaitVisible(chromedp.CSS(`#exec-status[data-status="running"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#messages [data-kind="output"]`)),
		chromedp.Click(chromedp.ID("exec-stop")),
		chromedp.Click(chromedp.ID("exec-stop")),
		chromedp.WaitVisible(chromedp.CSS(`#exec-status[data-status="canceled"]`)),
		chromedp.WaitNotVisible(chromedp.ID("exec-stop")),
	)
	require.Equal(t, "canceled", waitFinal(t, d, long.ID).Status)

	require.Empty(t, p.consoleErrors(), "the page logged errors")
}

// Package webui is Scaleout's web console: one page, as static HTML, CSS
// and JavaScript embedded in the binary, that shows what SSIS's Scale Out
// Manager and Integration Services Dashboard show. It has the dashboard's
// figures (executions that ended in the last 24 hours by status, what runs
// and waits now, each package's p50/p95 durations), the workers (online,
// enabled, running, last heartbeat, with Enable and Disable), the
// executions (filtered, refreshed every 2 seconds, with a form that starts
// one), and one execution with its stages, tasks, attempts and messages
// (tailed while it runs, with a Stop button).
//
// The files carry no data and load nothing from the internet: the page
// asks for an API token once, keeps it in the tab's sessionStorage, and
// reads and changes everything through the authenticated HTTP API
// (internal/api), which serves Handler at /ui/ without authentication.
// Every answer carries a Content-Security-Policy that allows only the
// page's own files (no inline script or style), and nosniff.
package webui

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// serviceUnit is the systemd unit of the single-computer setup: scaleout dev
// as a service, with its data directory, its token and its secrets file.
// %[1]s is the scaleout binary, %[2]s the API address.
const serviceUnit = `# Scaleout on one computer (SSIS Scale Out's "single computer" setup):
# the HTTP API and console, one worker, the stream poller and the local
# stand-ins, as one service. Written by "scaleout service unit".
#
#   scaleout service unit > /etc/systemd/system/scaleout.service
#   install -m 600 /dev/null /etc/scaleout/scaleout.env   # then set SCALEOUT_TOKEN=... in it
#   systemctl daemon-reload && systemctl enable --now scaleout
#
# State (in /var/lib/scaleout): the tables in data/ (the catalog, the
# executions and their messages: they outlast restarts), the stand-ins'
# install and, when SCALEOUT_TOKEN is not set, the token, the sealing key and
# the webhook secret it makes once (.cache/scaleout/standins/dev-secrets.json,
# readable by the service alone). Logs: journalctl -u scaleout.

[Unit]
Description=Scaleout on one computer: API, console, worker, stream poller
Documentation=https://github.com/scaleout/scaleout
Wants=network-online.target
After=network-online.target

[Service]
Type=exec
ExecStart=%[1]s dev --addr %[2]s --data %%S/scaleout/data
EnvironmentFile=-/etc/scaleout/scaleout.env
Environment=HOME=%%S/scaleout
Environment=PATH=/usr/local/bin:/usr/bin:/bin
Restart=always
RestartSec=5s
# SIGTERM to scaleout alone: the worker drains (running executions get
# SCALEOUT_GRACE, 30s, then are released), then it stops the stand-ins it
# started; what is left after the timeout is killed. A crash or a kill loses
# nothing: the next start recovers what ran and runs what waited.
KillMode=mixed
TimeoutStopSec=90s
DynamicUser=yes
StateDirectory=scaleout
WorkingDirectory=%%S/scaleout
NoNewPrivileges=yes
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`

func newService() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "service",
		Short: "Run the single-computer setup as a system service (systemd)",
	}
	var addr, binary string
	unit := &cobra.Command{
		Use:   "unit",
		Short: "Print a systemd unit that runs scaleout dev as a service, with its data directory, token and secrets",
		Long: `Print a systemd unit that runs "scaleout dev" as a service: the API (and console) on --addr,
one worker, the stream poller and the stand-ins, with its state in /var/lib/scaleout (the tables,
kept across restarts, and the token it makes when none is set) and its settings in
/etc/scaleout/scaleout.env (SCALEOUT_TOKEN and any other SCALEOUT_* setting).`,
		Example: `  scaleout service unit > /etc/systemd/system/scaleout.service
  systemctl daemon-reload && systemctl enable --now scaleout`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if binary == "" {
				exe, err := os.Executable()
				if err != nil {
					return fmt.Errorf("find this binary's path (give --binary): %w", err)
				}
				binary = exe
			}
			if !filepath.IsAbs(binary) || strings.ContainsAny(binary, " \t\n%") {
				return fmt.Errorf("--binary %q: give an absolute path without spaces or %%", binary)
			}
			if strings.ContainsAny(addr, " \t\n%") {
				return fmt.Errorf("--addr %q: give host:port", addr)
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), serviceUnit, binary, addr)
			return err
		},
	}
	unit.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address the HTTP API listens on")
	unit.Flags().StringVar(&binary, "binary", "", "the scaleout binary the service runs (default: this one; use an installed copy, such as /usr/local/bin/scaleout)")
	cmd.AddCommand(unit)
	return cmd
}

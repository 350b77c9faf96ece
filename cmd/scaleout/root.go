package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/scaleout/scaleout/internal/wiring/config"
	"github.com/scaleout/scaleout/internal/wiring/devstack"
	"github.com/scaleout/scaleout/localstack/s3standin"
	"github.com/scaleout/scaleout/localstack/standins"
)

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "scaleout",
		Short:         "Run SSIS-style package executions at scale on AWS",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newDev(), newStandins(), newPackage(), newService())
	// The commands that talk to the HTTP API, as kubectl or the aws CLI do.
	root.AddCommand(newDeploy(), newRun(), newLogs(), newExecutions(), newWorkers(), newDashboard(), newPools())
	root.AddCommand(newFolders(), newProjects(), newEnvironments(), newConsole())
	refuseUnknownSubcommands(root)
	return root
}

// refuseUnknownSubcommands makes every command that only groups others
// (scaleout executions, scaleout workers, ...) fail on a subcommand it does
// not have, naming the ones it has, instead of printing its help and
// exiting 0 ("scaleout executions get x").
func refuseUnknownSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		refuseUnknownSubcommands(sub)
	}
	if c.Runnable() || !c.HasSubCommands() || c.Parent() == nil {
		return
	}
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		var names []string
		for _, sub := range cmd.Commands() {
			if sub.IsAvailableCommand() {
				names = append(names, sub.Name())
			}
		}
		return fmt.Errorf("unknown command %q for %q (its commands: %s)", args[0], cmd.CommandPath(), strings.Join(names, ", "))
	}
}

// defaultDataDir is where the single-computer mode keeps its tables:
// $XDG_DATA_HOME/scaleout, else ~/.local/share/scaleout.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "scaleout")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "scaleout")
	}
	return filepath.Join(standins.DefaultDir(), "data")
}

func newDev() *cobra.Command {
	var addr, prefix, dataDir string
	var verbose, inMemory bool
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run all of Scaleout on this computer: stand-ins, API, worker and stream poller",
		Long: `Run all of Scaleout on this computer, as SSIS Scale Out's "single computer" setup:
starts (or reuses) DynamoDB Local and the SQS emulator on 127.0.0.1, creates the tables and
queues, and runs the HTTP API, one worker and the stream poller in this process.
Ctrl-C stops everything it started.

The catalog, the executions and their messages are kept in --data (default
$XDG_DATA_HOME/scaleout or ~/.local/share/scaleout) and outlast a restart, a crash or a
reboot: executions that were running are recovered when it comes back (their worker session
is dead), pending ones run (the reconciler sends their messages again). --in-memory keeps
nothing, for tests.

It serves S3 for the s3 tasks on 127.0.0.1:$SCALEOUT_S3_PORT (default 9325; or reuses the
stand-in 'scaleout standins up' started there) and points the worker at it with
AWS_ENDPOINT_URL_S3; an s3 connection needs no endpoint to reach it. Its buckets and
objects are in memory, even with --data: gone when it stops.

The API needs a bearer token: SCALEOUT_TOKEN, or one made once, kept with the key that
seals sensitive values and the webhook secret in localstack/.standins/dev-secrets.json
(the user's alone), and printed.
With AWS_ENDPOINT_URL set (LocalStack), no stand-ins are started.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			generated, err := devstack.SetSecrets(standins.DefaultDir())
			if err != nil {
				return err
			}
			if os.Getenv("SCALEOUT_MAX_CPU") == "" {
				// On one computer the stand-ins share the CPU with the
				// worker: holding work back for their load would stall it.
				os.Setenv("SCALEOUT_MAX_CPU", "100")
			}
			if os.Getenv("SCALEOUT_POLL_WAIT") == "" {
				// Ctrl-C waits for the worker's poll in flight: keep it short.
				os.Setenv("SCALEOUT_POLL_WAIT", "2s")
			}
			if os.Getenv("SCALEOUT_WEBHOOK_ALLOW_PRIVATE") == "" {
				// On one computer the scheduler listening for webhooks
				// is on loopback or the local network.
				os.Setenv("SCALEOUT_WEBHOOK_ALLOW_PRIVATE", "true")
			}
			if prefix != "" {
				os.Setenv("SCALEOUT_PREFIX", prefix)
			}
			cfg, err := config.FromEnv(os.Getenv)
			if err != nil {
				return err
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			so := standins.Options{}
			if !inMemory {
				so.DataDir = dataDir
			}
			return devstack.Run(cmd.Context(), devstack.Options{
				Addr: addr, Config: cfg, Logger: log, StandIns: so,
				Ready: func(base string) {
					out := cmd.OutOrStdout()
					fmt.Fprintf(out, "\nScaleout is running at %s (Ctrl-C stops it)\n", base)
					if inMemory {
						fmt.Fprintf(out, "Data: in memory (--in-memory): gone when it stops\n")
					} else {
						fmt.Fprintf(out, "Data: %s (kept across restarts)\n", dataDir)
					}
					if s3 := devstack.S3Endpoint(); s3 != "" {
						fmt.Fprintf(out, "S3: %s (AWS_ENDPOINT_URL_S3 for the s3 tasks; its buckets and objects are in memory)\n", s3)
					}
					if generated {
						fmt.Fprintf(out, "API token (kept in %s; set SCALEOUT_TOKEN to choose your own):\n  export SCALEOUT_TOKEN=%s\n",
							filepath.Join(standins.DefaultDir(), devstack.SecretsFile), os.Getenv("SCALEOUT_TOKEN"))
					}
					fmt.Fprintf(out, "Console: %s/ui/ (sign in with the token)\n", base)
					fmt.Fprintf(out, "Try, in another terminal (scaleout finds the token; curl needs SCALEOUT_TOKEN exported):\n"+
						"  scaleout run hello --wait -- sh -c 'echo hello from Scaleout'\n"+
						"  curl -s -X POST %s/v1/executions -H \"Authorization: Bearer $SCALEOUT_TOKEN\" \\\n"+
						"    -d '{\"package\":\"hello\",\"command\":[\"sh\",\"-c\",\"echo hello from Scaleout\"]}'\n\n", base)
				},
			})
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address the HTTP API listens on")
	cmd.Flags().StringVar(&prefix, "prefix", "", "name prefix of the tables and queues (default $SCALEOUT_PREFIX or \"scaleout\")")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "debug logging")
	cmd.Flags().StringVar(&dataDir, "data", defaultDataDir(), "directory that keeps the tables (the catalog, executions and messages) across restarts")
	cmd.Flags().BoolVar(&inMemory, "in-memory", false, "keep nothing: tables in memory, gone when it stops (for tests)")
	return cmd
}

func newStandins() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "standins",
		Short: "Install, start and stop the local AWS stand-ins (DynamoDB Local, SQS emulator, S3)",
	}
	up := &cobra.Command{
		Use:   "up",
		Short: "Start the stand-ins in the background (reusing running ones) and print their environment",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find this program, to run the S3 stand-in: %w", err)
			}
			s, err := standins.Start(cmd.Context(), standins.Options{Logger: log,
				S3Command: []string{exe, "standins", standins.S3ServeCommand}})
			if err != nil {
				return err
			}
			for _, kv := range s.Env() {
				fmt.Fprintf(cmd.OutOrStdout(), "export %s\n", kv)
			}
			return nil
		},
	}
	var all bool
	down := &cobra.Command{
		Use:   "down",
		Short: "Stop the stand-ins on the configured ports (SCALEOUT_DYNAMODB_PORT, SCALEOUT_SQS_PORT, SCALEOUT_S3_PORT), whoever started them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			if all {
				return standins.StopAll(standins.DefaultDir(), log)
			}
			return standins.StopPorts(standins.Options{Logger: log})
		},
	}
	down.Flags().BoolVar(&all, "all", false, "stop every stand-in recorded in the stand-ins folder, on any port")
	cmd.AddCommand(up, down, newServeS3())
	return cmd
}

// newServeS3 is the S3 stand-in's process, as `standins up` starts it:
// hidden, since `standins up` and `dev` are how it is meant to start.
func newServeS3() *cobra.Command {
	var port int
	cmd := &cobra.Command{
		Use:    standins.S3ServeCommand,
		Short:  "Serve the S3 stand-in on 127.0.0.1 until stopped (in memory)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if port < 1 || port > 65535 {
				return fmt.Errorf("--port %d is not a TCP port: give one from 1 to 65535", port)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			srv, err := s3standin.Start(ctx, s3standin.Options{Addr: net.JoinHostPort(standins.DefaultHost, strconv.Itoa(port))})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "S3 stand-in serving %s (in memory)\n", srv.URL)
			<-ctx.Done()
			return srv.Close()
		},
	}
	cmd.Flags().IntVar(&port, "port", standins.DefaultS3Port, "port to listen on")
	return cmd
}

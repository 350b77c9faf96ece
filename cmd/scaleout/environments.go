package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/scaleout/scaleout/client"
	"github.com/scaleout/scaleout/pkg/catalog"
)

// envCmds are the `environments` commands: their shared flags.
type envCmds struct {
	r      *remote
	folder string
}

func newEnvironments() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "environments",
		Aliases: []string{"environment", "env"},
		Short:   "Manage a folder's environments: typed variables, some sensitive, that projects bind parameters to",
		Long: `Manage a folder's environments, as SSMS's Integration Services catalog does: named sets
of typed variables (` + typeNames() + `) that a project references and binds its
parameters to (` + "`scaleout projects reference`, `scaleout projects bind`" + `), picked when a run starts
(` + "`scaleout run ... --environment ENV`" + `).

A sensitive variable (--secret, --secret-file) is sealed at rest and its value is never
shown again: not by these commands, not by the API, not in an execution's messages.`,
	}
	e := &envCmds{r: newRemote(cmd)}
	cmd.PersistentFlags().StringVarP(&e.folder, "folder", "f", "", "the catalog folder holding the environment(s)")
	_ = cmd.MarkPersistentFlagRequired("folder")
	cmd.AddCommand(e.list(), e.show(), e.create(), e.set(), e.delete())
	return cmd
}

func (e *envCmds) list() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list --folder FOLDER",
		Short: "List a folder's environments",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = e.r.runE(func(cmd *cobra.Command, _ []string, c *client.Client) error {
		var raw json.RawMessage
		es, err := c.Environments(cmd.Context(), e.folder, client.Raw(&raw))
		if err != nil {
			return err
		}
		if e.r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		now := time.Now()
		t := newTable(cmd.OutOrStdout(), "NAME", "VARIABLES", "SENSITIVE", "REVISION", "UPDATED", "DESCRIPTION")
		for _, env := range es {
			sensitive := 0
			for _, v := range env.Variables {
				if v.Sensitive {
					sensitive++
				}
			}
			t.row(env.Name, strconv.Itoa(len(env.Variables)), strconv.Itoa(sensitive), strconv.Itoa(env.Revision),
				ago(env.UpdatedAt, now), env.Description)
		}
		if err := t.flush(); err != nil {
			return err
		}
		if len(es) == 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "folder %s holds no environments: `scaleout environments create ENV --folder %s --var name=value` makes one\n", e.folder, e.folder)
		}
		return nil
	})
	return cmd
}

func (e *envCmds) show() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "show ENV --folder FOLDER",
		Aliases: []string{"describe"},
		Short:   "Show an environment's variables (sensitive values shown as ***)",
		Args:    cobra.ExactArgs(1),
	}
	cmd.RunE = e.r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		var raw json.RawMessage
		env, err := c.GetEnvironment(cmd.Context(), e.folder, args[0], client.Raw(&raw))
		if err != nil {
			return err
		}
		if e.r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		now := time.Now()
		out := cmd.OutOrStdout()
		if err := fields(out,
			"Environment", env.Folder+"/"+env.Name,
			"Description", env.Description,
			"Revision", strconv.Itoa(env.Revision),
			"Created", clock(&env.CreatedAt, now),
			"Updated", clock(&env.UpdatedAt, now),
		); err != nil {
			return err
		}
		fmt.Fprintln(out)
		return showVariables(out, env)
	})
	return cmd
}

// showVariables writes an environment's variables as a table.
func showVariables(w io.Writer, env catalog.Environment) error {
	if len(env.Variables) == 0 {
		_, err := fmt.Fprintln(w, "no variables")
		return err
	}
	t := newTable(w, "VARIABLE", "TYPE", "VALUE", "DESCRIPTION")
	for _, name := range slices.Sorted(maps.Keys(env.Variables)) {
		v := env.Variables[name]
		t.row(name, typeText(v.Type, v.Sensitive), valueText(v.Value, v.Sensitive), v.Description)
	}
	return t.flush()
}

const varsHelp = `
--var name=value[:TYPE] gives a variable; TYPE is one of %s
(default string). A value that itself ends in ":TYPE", such as "a:int", is written
"a:int:string". --secret name=value[:TYPE] gives a sensitive variable, and
--secret-file name=PATH[:TYPE] one read from a file (name=- reads stdin), so that the
value stays out of your shell history.`

func (e *envCmds) create() *cobra.Command {
	var f varFlags
	cmd := &cobra.Command{
		Use:   "create ENV --folder FOLDER [--var name=value[:TYPE]]... [--secret name=value[:TYPE]]...",
		Short: "Create an environment of typed variables, some of them sensitive",
		Long:  "Create an environment in a folder.\n" + fmt.Sprintf(varsHelp, typeNames()),
		Example: `  scaleout environments create prod --folder finance --var who="finance team" --var batch_size=500:int \
      --secret-file db_password=./db_password.txt
  printf %s "$DB_PASSWORD" | scaleout environments create prod --folder finance --secret-file db_password=-`,
		Args: cobra.ExactArgs(1),
	}
	f.register(cmd, false)
	cmd.RunE = e.r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		vars, err := f.variables(cmd.InOrStdin(), cmd.ErrOrStderr(), nil)
		if err != nil {
			return err
		}
		var raw json.RawMessage
		env, err := c.CreateEnvironment(cmd.Context(), e.folder, args[0],
			catalog.EnvironmentInput{Description: f.description, Variables: vars}, client.Raw(&raw))
		if err != nil {
			return err
		}
		return e.written(cmd, "created", env, raw)
	})
	return cmd
}

func (e *envCmds) set() *cobra.Command {
	var f varFlags
	cmd := &cobra.Command{
		Use:   "set ENV --folder FOLDER [--var name=value[:TYPE]]... [--secret ...] [--keep name]...",
		Short: "Replace an environment's variables",
		Long: "Replace an environment's variables with those given: a variable not given is removed,\n" +
			"unless --keep NAME keeps it as it is (a sensitive one with its stored value, which\n" +
			"no one can read back). The description stays unless --description is given.\n" +
			fmt.Sprintf(varsHelp, typeNames()),
		Example: `  scaleout environments set prod --folder finance --var who=Ada --keep db_password`,
		Args:    cobra.ExactArgs(1),
	}
	f.register(cmd, true)
	cmd.RunE = e.r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		ctx := cmd.Context()
		current, err := c.GetEnvironment(ctx, e.folder, args[0])
		if err != nil {
			return err
		}
		vars, err := f.variables(cmd.InOrStdin(), cmd.ErrOrStderr(), current.Variables)
		if err != nil {
			return err
		}
		in := catalog.EnvironmentInput{Description: current.Description, Variables: vars}
		if cmd.Flags().Changed("description") {
			in.Description = f.description
		}
		var raw json.RawMessage
		env, err := c.UpdateEnvironment(ctx, e.folder, args[0], in, client.Raw(&raw))
		if err != nil {
			return err
		}
		return e.written(cmd, "updated", env, raw)
	})
	return cmd
}

// written shows an environment just created or updated.
func (e *envCmds) written(cmd *cobra.Command, verb string, env catalog.Environment, raw json.RawMessage) error {
	if e.r.json() {
		return writeJSON(cmd.OutOrStdout(), raw)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "%s environment %s/%s (revision %d)\n", verb, env.Folder, env.Name, env.Revision)
	return showVariables(out, env)
}

func (e *envCmds) delete() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete ENV --folder FOLDER",
		Short: "Delete an environment (projects referencing it can no longer run with it; prints nothing with --output json)",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = e.r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		if err := c.DeleteEnvironment(cmd.Context(), e.folder, args[0]); err != nil {
			return err
		}
		if !e.r.json() {
			fmt.Fprintf(cmd.OutOrStdout(), "deleted environment %s/%s\n", e.folder, args[0])
		}
		return nil
	})
	return cmd
}

package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scaleout/scaleout/client"
	"github.com/scaleout/scaleout/internal/catalog"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/scaleouttype"
)

// projectCmds are the `projects` commands: their shared flags.
type projectCmds struct {
	r      *remote
	folder string
}

func newProjects() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "projects",
		Aliases: []string{"project"},
		Short:   "See a folder's deployed projects, their versions and configuration (references, bindings)",
		Long: `See and manage a folder's deployed projects, as SSMS's Integration Services catalog does:
list them, describe one (packages, parameters, references, bindings), list its kept
versions, restore one, delete the project, and configure it: the environments it may run
with (reference) and which environment variable each parameter takes (bind).
` + "`scaleout deploy`" + ` deploys a project's next version.`,
	}
	p := &projectCmds{r: newRemote(cmd)}
	cmd.PersistentFlags().StringVarP(&p.folder, "folder", "f", "", "the catalog folder holding the project(s)")
	_ = cmd.MarkPersistentFlagRequired("folder")
	cmd.AddCommand(p.list(), p.describe(), p.versions(), p.restore(), p.delete(), p.reference(), p.bind())
	return cmd
}

func (p *projectCmds) list() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list --folder FOLDER",
		Short: "List a folder's projects with their current version",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = p.r.runE(func(cmd *cobra.Command, _ []string, c *client.Client) error {
		var raw json.RawMessage
		ps, err := c.Projects(cmd.Context(), p.folder, client.Raw(&raw))
		if err != nil {
			return err
		}
		if p.r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		now := time.Now()
		t := newTable(cmd.OutOrStdout(), "NAME", "VERSION", "DEPLOYED", "BY", "CREATED")
		for _, s := range ps {
			t.row(s.Name, strconv.Itoa(s.Version), ago(s.DeployedAt, now), s.DeployedBy, ago(s.CreatedAt, now))
		}
		if err := t.flush(); err != nil {
			return err
		}
		if len(ps) == 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "folder %s holds no projects: `scaleout deploy DIR --folder %s` deploys one\n", p.folder, p.folder)
		}
		return nil
	})
	return cmd
}

func (p *projectCmds) describe() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "describe PROJECT --folder FOLDER",
		Aliases: []string{"show"},
		Short:   "Show a project's current version: packages, parameters, references and bindings",
		Args:    cobra.ExactArgs(1),
	}
	cmd.RunE = p.r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		var raw json.RawMessage
		pr, err := c.DescribeProject(cmd.Context(), p.folder, args[0], client.Raw(&raw))
		if err != nil {
			return err
		}
		if p.r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		return showProject(cmd, pr)
	})
	return cmd
}

func showProject(cmd *cobra.Command, p catalog.Project) error {
	out := cmd.OutOrStdout()
	now := time.Now()
	version := strconv.Itoa(p.Version)
	if p.RestoredFrom > 0 {
		version += fmt.Sprintf(" (restored from version %d)", p.RestoredFrom)
	}
	deployed := clock(&p.DeployedAt, now)
	if p.DeployedBy != "" {
		deployed += " by " + p.DeployedBy
	}
	if err := fields(out,
		"Project", p.Folder+"/"+p.Name,
		"Version", version,
		"Deployed", deployed,
		"Created", clock(&p.CreatedAt, now),
		"References", refsText(p.References),
		"Files", strings.Join(p.Files, ", "),
	); err != nil {
		return err
	}
	fmt.Fprintln(out)
	t := newTable(out, "PACKAGE", "DESCRIPTION")
	for _, pk := range p.Packages {
		t.row(pk.Name, pk.Description)
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	if len(p.Connections) > 0 {
		// The project's connections, as written: where they point, never a
		// password (only ever a ${params.X} reference anyway).
		t = newTable(out, "CONNECTION", "KIND", "WHERE", "USER")
		for _, name := range slices.Sorted(maps.Keys(p.Connections)) {
			c := p.Connections[name]
			t.row(name, c.Kind, connectionWhere(c), c.User)
		}
		if err := t.flush(); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	t = newTable(out, "PARAMETER", "OF", "TYPE", "DEFAULT", "REQUIRED", "BOUND TO")
	n := 0
	params := func(of string, ps map[string]pkgfile.Parameter) {
		for _, name := range slices.Sorted(maps.Keys(ps)) {
			d := ps[name]
			def := ""
			if d.Default != nil {
				def = valueText(d.Default, d.Sensitive)
			}
			required := ""
			if d.Required {
				required = "yes"
			}
			t.row(name, of, typeText(d.Type, d.Sensitive), def, required, p.Bindings[name])
			n++
		}
	}
	params("(project)", p.Parameters)
	for _, pk := range p.Packages {
		params(pk.Name, pk.Parameters)
	}
	if n == 0 {
		fmt.Fprintln(out, "no parameters")
		return nil
	}
	if err := t.flush(); err != nil {
		return err
	}
	// A binding to a parameter no package declares (any longer) is kept:
	// show it so that it can be removed.
	var stale []string
	for _, name := range slices.Sorted(maps.Keys(p.Bindings)) {
		if _, ok := p.Parameters[name]; ok {
			continue
		}
		if !slices.ContainsFunc(p.Packages, func(pk catalog.PackageInfo) bool { _, ok := pk.Parameters[name]; return ok }) {
			stale = append(stale, name+"="+p.Bindings[name])
		}
	}
	if len(stale) > 0 {
		fmt.Fprintf(out, "bindings of parameters no package declares: %s\n", strings.Join(stale, ", "))
	}
	return nil
}

// connectionWhere is where a connection points: host:port/database, or
// s3://bucket with its region or endpoint.
func connectionWhere(c pkgfile.Connection) string {
	if c.Kind == "s3" {
		w := "s3://" + c.Bucket
		if c.Region != "" {
			w += " (" + c.Region + ")"
		}
		if c.Endpoint != "" {
			w += " at " + c.Endpoint
		}
		return w
	}
	w := c.Host
	if c.Port != "" {
		w += ":" + string(c.Port)
	}
	if c.Database != "" {
		w += "/" + c.Database
	}
	return w
}

// refsText shows references as FOLDER/ENVIRONMENT.
func refsText(refs []catalog.EnvRef) string {
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// bindingsText shows bindings as parameter=variable, in name order.
func bindingsText(b map[string]string) string {
	s := make([]string, 0, len(b))
	for _, k := range slices.Sorted(maps.Keys(b)) {
		s = append(s, k+"="+b[k])
	}
	return strings.Join(s, ", ")
}

func (p *projectCmds) versions() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "versions PROJECT --folder FOLDER",
		Short: "List a project's kept versions, newest (the current one) first",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = p.r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		var raw json.RawMessage
		vs, err := c.Versions(cmd.Context(), p.folder, args[0], client.Raw(&raw))
		if err != nil {
			return err
		}
		if p.r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		now := time.Now()
		t := newTable(cmd.OutOrStdout(), "VERSION", "DEPLOYED", "BY", "SIZE", "PACKAGES", "NOTE")
		for i, v := range vs {
			var note []string
			if i == 0 {
				note = append(note, "current")
			}
			if v.RestoredFrom > 0 {
				note = append(note, fmt.Sprintf("restored from %d", v.RestoredFrom))
			}
			t.row(strconv.Itoa(v.Version), ago(v.DeployedAt, now), v.DeployedBy, fmt.Sprintf("%d B", v.Size),
				strings.Join(v.Packages, ", "), strings.Join(note, ", "))
		}
		return t.flush()
	})
	return cmd
}

func (p *projectCmds) restore() *cobra.Command {
	var version int
	cmd := &cobra.Command{
		Use:   "restore PROJECT --folder FOLDER --version N",
		Short: "Deploy a kept version of a project again, as its next version",
		Long: `Restore a kept version, as SSMS's "Versions..." dialog does: the version's packages and
files are deployed again as the project's next version (restoring version 1 of a project
at version 2 gives version 3). References and bindings stay as they are.`,
		Example: `  scaleout projects restore daily --folder finance --version 1`,
		Args:    cobra.ExactArgs(1),
	}
	cmd.RunE = p.r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		if version < 1 {
			return fmt.Errorf("--version %d: give the number of a kept version (see `scaleout projects versions %s --folder %s`)", version, args[0], p.folder)
		}
		var raw json.RawMessage
		v, err := c.Restore(cmd.Context(), p.folder, args[0], version, client.Raw(&raw))
		if err != nil {
			return err
		}
		if p.r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "restored %s/%s version %d as version %d (%d packages: %s)\n",
			p.folder, args[0], v.RestoredFrom, v.Version, len(v.Packages), strings.Join(v.Packages, ", "))
		return nil
	})
	cmd.Flags().IntVar(&version, "version", 0, "the version to restore")
	_ = cmd.MarkFlagRequired("version")
	return cmd
}

func (p *projectCmds) delete() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete PROJECT --folder FOLDER",
		Short: "Delete a project with all its versions (prints nothing with --output json)",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = p.r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		if err := c.DeleteProject(cmd.Context(), p.folder, args[0]); err != nil {
			return err
		}
		if !p.r.json() {
			fmt.Fprintf(cmd.OutOrStdout(), "deleted project %s/%s\n", p.folder, args[0])
		}
		return nil
	})
	return cmd
}

func (p *projectCmds) reference() *cobra.Command {
	var envs []string
	var clearAll bool
	cmd := &cobra.Command{
		Use:   "reference PROJECT --folder FOLDER --environment [FOLDER/]ENV ...",
		Short: "Set the environments a project may run with (replaces its references)",
		Long: `Set the environments a project may run with, as SSMS's "Configure... > References" does.
The references given replace the project's references; --clear removes them all. An
environment is named as ENV (in the project's folder) or FOLDER/ENV, and must exist.
A run picks one of them with ` + "`scaleout run ... --environment ENV`" + `.`,
		Example: `  scaleout projects reference daily --folder finance --environment prod --environment shared/common`,
		Args:    cobra.ExactArgs(1),
	}
	cmd.RunE = p.r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		if len(envs) == 0 && !clearAll {
			return fmt.Errorf("give --environment [FOLDER/]ENV (repeatable), or --clear to remove every reference")
		}
		if len(envs) > 0 && clearAll {
			return fmt.Errorf("give --environment or --clear, not both")
		}
		refs := make([]catalog.EnvRef, 0, len(envs))
		for _, e := range envs {
			refs = append(refs, envRef(e))
		}
		var raw json.RawMessage
		pr, err := c.SetReferences(cmd.Context(), p.folder, args[0], refs, client.Raw(&raw))
		if err != nil {
			return err
		}
		if p.r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		if len(pr.References) == 0 {
			fmt.Fprintf(cmd.OutOrStdout(), "project %s/%s references no environment\n", p.folder, args[0])
			return nil
		}
		fmt.Fprintf(cmd.OutOrStdout(), "project %s/%s references %s\n", p.folder, args[0], refsText(pr.References))
		return nil
	})
	cmd.Flags().StringArrayVarP(&envs, "environment", "e", nil, "an environment the project may use: ENV or FOLDER/ENV (repeatable)")
	cmd.Flags().BoolVar(&clearAll, "clear", false, "remove every reference")
	return cmd
}

// envRef reads ENV or FOLDER/ENV.
func envRef(s string) catalog.EnvRef {
	if folder, name, ok := strings.Cut(s, "/"); ok {
		return catalog.EnvRef{Folder: folder, Environment: name}
	}
	return catalog.EnvRef{Environment: s}
}

func (p *projectCmds) bind() *cobra.Command {
	var clearAll, merge bool
	var unbind []string
	cmd := &cobra.Command{
		Use:   "bind PROJECT --folder FOLDER PARAMETER=VARIABLE ...",
		Short: "Bind parameters to environment variables (replaces the project's bindings; --merge keeps the others)",
		Long: `Bind parameters to environment variables, as SSMS's "Configure... > Parameters" does: a
run started with --environment ENV gives each bound parameter the value of that variable
of ENV (a --param given to the run still wins). PARAMETER is one of the project's or of
any of its packages'; VARIABLE is a variable that every environment the project
references has (` + "`scaleout projects reference`" + ` first), of a type the parameter takes. A
binding that does not fit is refused, saying what is known.

The bindings given replace the project's bindings: those left out are removed, and the
output says which. --merge binds the ones given and keeps the others; --unbind PARAMETER
removes one and keeps the others; --clear removes them all.`,
		Example: `  scaleout projects bind daily --folder finance who=who batch_size=rows
  scaleout projects bind daily --folder finance --merge batch_size=big_rows
  scaleout projects bind daily --folder finance --unbind batch_size`,
		Args: cobra.MinimumNArgs(1),
	}
	cmd.RunE = p.r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		project, pairs := args[0], args[1:]
		switch {
		case clearAll && (len(pairs) > 0 || merge || len(unbind) > 0):
			return fmt.Errorf("give --clear alone: it removes every binding")
		case len(pairs) == 0 && len(unbind) == 0 && !clearAll:
			return fmt.Errorf("give PARAMETER=VARIABLE (one or more), --unbind PARAMETER, or --clear to remove every binding")
		case len(pairs) == 0 && merge && len(unbind) == 0:
			return fmt.Errorf("--merge: give the PARAMETER=VARIABLE bindings to add to the others")
		}
		bindings := make(map[string]string, len(pairs))
		for _, kv := range pairs {
			param, variable, ok := strings.Cut(kv, "=")
			if !ok || param == "" || variable == "" {
				return fmt.Errorf("%q: write PARAMETER=VARIABLE", kv)
			}
			if _, dup := bindings[param]; dup {
				return fmt.Errorf("parameter %s bound twice", param)
			}
			bindings[param] = variable
		}
		var raw json.RawMessage
		var out scaleouttype.BindingsResponse
		var err error
		if merge || len(unbind) > 0 {
			patch := make(map[string]*string, len(bindings)+len(unbind))
			for param, variable := range bindings {
				patch[param] = &variable
			}
			for _, param := range unbind {
				if _, dup := patch[param]; dup {
					return fmt.Errorf("parameter %s both bound and unbound", param)
				}
				patch[param] = nil
			}
			out, err = c.PatchBindings(cmd.Context(), p.folder, project, patch, client.Raw(&raw))
		} else {
			out, err = c.SetBindings(cmd.Context(), p.folder, project, bindings, client.Raw(&raw))
		}
		if err != nil {
			return err
		}
		if p.r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		w := cmd.OutOrStdout()
		if len(out.Bindings) == 0 {
			fmt.Fprintf(w, "project %s/%s binds no parameter\n", p.folder, project)
		} else {
			fmt.Fprintf(w, "project %s/%s binds %s\n", p.folder, project, bindingsText(out.Bindings))
		}
		fmt.Fprint(w, changesText(out.Changes))
		return nil
	})
	cmd.Flags().BoolVar(&clearAll, "clear", false, "remove every binding")
	cmd.Flags().BoolVar(&merge, "merge", false, "keep the bindings not given (default: they are removed)")
	cmd.Flags().StringArrayVar(&unbind, "unbind", nil, "remove this parameter's binding and keep the others (repeatable)")
	return cmd
}

// changesText says what a change of bindings did, a line for each kind of
// change, or that nothing changed.
func changesText(c catalog.BindingChanges) string {
	var b strings.Builder
	if len(c.Added) > 0 {
		fmt.Fprintf(&b, "added %s: %s\n", nBindings(len(c.Added)), bindingsText(c.Added))
	}
	if len(c.Changed) > 0 {
		s := make([]string, 0, len(c.Changed))
		for _, k := range slices.Sorted(maps.Keys(c.Changed)) {
			s = append(s, fmt.Sprintf("%s=%s (was %s)", k, c.Changed[k].To, c.Changed[k].From))
		}
		fmt.Fprintf(&b, "replaced %s: %s\n", nBindings(len(c.Changed)), strings.Join(s, ", "))
	}
	if len(c.Removed) > 0 {
		fmt.Fprintf(&b, "removed %s: %s\n", nBindings(len(c.Removed)), bindingsText(c.Removed))
	}
	if b.Len() == 0 {
		return "no binding changed\n"
	}
	return b.String()
}

// nBindings is "1 binding" or "N bindings".
func nBindings(n int) string {
	if n == 1 {
		return "1 binding"
	}
	return fmt.Sprintf("%d bindings", n)
}

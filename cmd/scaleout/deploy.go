package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/scaleout/scaleout/client"
)

func newDeploy() *cobra.Command {
	var folder, project string
	cmd := &cobra.Command{
		Use:   "deploy DIR --folder FOLDER [--project PROJECT]",
		Short: "Deploy a project folder's packages to the catalog as the project's next version",
		Long: `Deploy a project folder to the catalog, as SSIS deploys an .ispac: the project's next
version is made from the folder, and the version number is printed. The folder is created
if it does not exist. The project is named after DIR unless --project names it.

A project folder holds:
  *.yaml, *.yml, *.json   packages (at the folder's top), each named by its "name:"
                          or else by its file name
  project.yaml            optional: the project's parameters and connections, as
                          "parameters: {...}" and "connections: {...}"
  anything else           files the packages use ("sql/load.sql"), sent with them;
                          names starting with "." are left out

The API validates every package and lists every problem with its file and line.`,
		Example: `  scaleout deploy examples --folder demo
  scaleout deploy ./etl --folder finance --project daily -o json`,
		Args: cobra.ExactArgs(1),
	}
	r := newRemote(cmd)
	cmd.RunE = r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		dir := args[0]
		info, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if !info.IsDir() {
			return fmt.Errorf("%s is not a folder: give a project folder (to run one package file, use `scaleout run --file %s`)", dir, dir)
		}
		if project == "" {
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			project = filepath.Base(abs)
		}
		b, err := client.ReadBundle(os.DirFS(dir))
		if err != nil {
			return fmt.Errorf("project folder %s: %w", dir, err)
		}
		ctx := cmd.Context()
		_, created, err := c.EnsureFolder(ctx, folder)
		if err != nil {
			return fmt.Errorf("folder %q: %w", folder, err)
		}
		var raw json.RawMessage
		v, err := c.Deploy(ctx, folder, project, b, client.Raw(&raw))
		if err != nil {
			return fmt.Errorf("deploy %s as %s/%s: %w", dir, folder, project, err)
		}
		if r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		out := cmd.OutOrStdout()
		if created {
			fmt.Fprintf(out, "created folder %s\n", folder)
		}
		fmt.Fprintf(out, "deployed %s/%s version %d (%d packages: %s)\n", folder, project, v.Version, len(v.Packages), strings.Join(v.Packages, ", "))
		return nil
	})
	cmd.Flags().StringVarP(&folder, "folder", "f", "", "the catalog folder to deploy to (created if missing)")
	cmd.Flags().StringVar(&project, "project", "", "the project's name (default DIR's name)")
	_ = cmd.MarkFlagRequired("folder")
	return cmd
}

package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/scaleout/scaleout/client"
)

func newFolders() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "folders",
		Aliases: []string{"folder"},
		Short:   "List, create and delete catalog folders (they hold projects and environments)",
	}
	r := newRemote(cmd)
	cmd.AddCommand(newFoldersList(r), newFoldersCreate(r), newFoldersDelete(r))
	return cmd
}

func newFoldersList(r *remote) *cobra.Command {
	var cursor string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the folders by name, with how many projects and environments each holds",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = r.runE(func(cmd *cobra.Command, _ []string, c *client.Client) error {
		var raw json.RawMessage
		page, err := c.ListFolders(cmd.Context(), cursor, limit, client.Raw(&raw))
		if err != nil {
			return err
		}
		if r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		now := time.Now()
		t := newTable(cmd.OutOrStdout(), "NAME", "PROJECTS", "ENVIRONMENTS", "CREATED", "DESCRIPTION")
		for _, f := range page.Folders {
			t.row(f.Name, strconv.Itoa(f.Projects), strconv.Itoa(f.Environments), ago(f.CreatedAt, now), f.Description)
		}
		if err := t.flush(); err != nil {
			return err
		}
		if len(page.Folders) == 0 && cursor == "" {
			fmt.Fprintln(cmd.ErrOrStderr(), "no folders: `scaleout folders create NAME` or `scaleout deploy DIR --folder NAME` makes one")
		}
		if page.Next != "" {
			fmt.Fprintf(cmd.ErrOrStderr(), "more: add --cursor %s\n", page.Next)
		}
		return nil
	})
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many (1-1000; default 100)")
	cmd.Flags().StringVar(&cursor, "cursor", "", "the next page, as the previous page said")
	return cmd
}

func newFoldersCreate(r *remote) *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create an empty folder",
		Example: `  scaleout folders create finance --description "Finance's nightly loads"`,
		Args:    cobra.ExactArgs(1),
	}
	cmd.RunE = r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		var raw json.RawMessage
		f, err := c.CreateFolder(cmd.Context(), args[0], description, client.Raw(&raw))
		if err != nil {
			return err
		}
		if r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "created folder %s\n", f.Name)
		return nil
	})
	cmd.Flags().StringVar(&description, "description", "", "what the folder is for")
	return cmd
}

func newFoldersDelete(r *remote) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an empty folder (delete its projects and environments first)",
		Long: `Delete a folder. Only an empty folder is deleted: while it holds projects or
environments the command fails and names them. With --output json nothing is printed
on success (the API answers 204 No Content).`,
		Args: cobra.ExactArgs(1),
	}
	cmd.RunE = r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		if err := c.DeleteFolder(cmd.Context(), args[0]); err != nil {
			return err
		}
		if !r.json() {
			fmt.Fprintf(cmd.OutOrStdout(), "deleted folder %s\n", args[0])
		}
		return nil
	})
	return cmd
}

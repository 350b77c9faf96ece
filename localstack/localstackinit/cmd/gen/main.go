// Command gen writes the LocalStack init hook's resource files: the tables
// and queues of the default prefix and pool, rendered by localstackinit.Files.
// It replaces every .json file in the output folder, so files of resources
// that no longer exist go too.
//
// Run it through go generate from the repository root:
//
//	go generate ./localstack/localstackinit/
package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/localstack/localstackinit"
)

func main() {
	out := flag.String("out", "", "folder to write the files to (localstack/init/ready.d/resources)")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	if out == "" {
		return fmt.Errorf("-out is required: the folder of the hook's resource files")
	}
	set, err := resources.New(resources.DefaultPrefix)
	if err != nil {
		return err
	}
	files, err := localstackinit.Files(set)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(out, "*.json"))
	if err != nil {
		return err
	}
	had := map[string]bool{}
	var removed, added []string
	for _, path := range old {
		name := filepath.Base(path)
		had[name] = true
		if _, keep := files[name]; !keep {
			if err := os.Remove(path); err != nil {
				return err
			}
			removed = append(removed, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := os.WriteFile(filepath.Join(out, name), files[name], 0o644); err != nil {
			return err
		}
		if !had[name] {
			added = append(added, name)
		}
	}
	fmt.Printf("gen: wrote %d files to %s\n", len(files), out)
	if len(added)+len(removed) > 0 {
		// The hook names its files one by one (its test checks that).
		fmt.Printf("gen: new files: [%s], removed: [%s]; update localstack/init/ready.d/scaleout-resources.sh to match\n",
			strings.Join(added, " "), strings.Join(removed, " "))
	}
	return nil
}

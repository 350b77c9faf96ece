package dbtest

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// postgresAdmin is the superuser initdb makes.
const postgresAdmin = "scaleout"

// postgresBinDir finds the directory that holds both initdb and postgres:
// PATH's, else the newest of Debian's /usr/lib/postgresql/<version>/bin
// (which Debian leaves off PATH).
func postgresBinDir() (string, error) {
	var dirs []string
	if p, ok := findProgram("postgres"); ok {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(debian, func(a, b string) int { return versionOf(b) - versionOf(a) })
	dirs = append(dirs, debian...)
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL's initdb and postgres are not installed (looked on PATH and in /usr/lib/postgresql/*/bin): %s", installHint)
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExecutable(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0
}

// startPostgres makes a cluster in dir and starts postgres on port.
func startPostgres(dir string, port int) (*server, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	acc, err := serverAccount("postgres", "nobody")
	if err != nil {
		return nil, err
	}
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	logPath, pwfile := filepath.Join(dir, "server.log"), filepath.Join(dir, "pwfile")
	password := secret()
	// A retry on another port starts from a clean folder.
	for _, p := range []string{data, sock, pwfile} {
		if err := os.RemoveAll(p); err != nil {
			return nil, fmt.Errorf("cleaning the PostgreSQL folder: %w", err)
		}
	}
	if err := os.Mkdir(sock, 0o700); err != nil {
		return nil, fmt.Errorf("making PostgreSQL's socket folder: %w", err)
	}
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("writing the PostgreSQL superuser's password file: %w", err)
	}
	if err := own(acc, dir, sock, pwfile); err != nil {
		return nil, err
	}
	// Local (socket) connections are trusted; TCP ones need the password,
	// so that a test of a wrong or escaped password means something.
	if err := runSetup(acc, logPath, filepath.Join(bin, "initdb"),
		"-D", data, "-U", postgresAdmin, "--pwfile", pwfile, "--auth-local=trust", "--auth-host=scram-sha-256",
		"-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return nil, err
	}
	s, err := launch(KindPostgres, acc, logPath, syscall.SIGINT, filepath.Join(bin, "postgres"),
		"-D", data, "-p", strconv.Itoa(port), "-k", sock,
		"-c", "listen_addresses=127.0.0.1",
		// Speed, not durability: the data goes when the tests end.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "shared_buffers=32MB", "-c", "max_connections=200",
		"-c", "log_min_messages=warning", "-c", "logging_collector=off")
	if err != nil {
		return nil, err
	}
	s.db = Database{Kind: KindPostgres, Driver: "pgx", Host: "127.0.0.1", Port: port, Name: "postgres",
		User: postgresAdmin, Password: password, Socket: sock}
	s.quote = func(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
	if s.admin, err = sql.Open("pgx", s.db.DSN()); err != nil {
		return s.fail(fmt.Errorf("opening PostgreSQL: %w", err))
	}
	if err := s.waitReady(); err != nil {
		return s.fail(err)
	}
	return s, nil
}

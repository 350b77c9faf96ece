package dbtest

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
)

// mariadbAdmin is the administrator the server's init file makes (root
// stays reachable only through the socket, by the system's root).
const mariadbAdmin = "scaleout"

// startMariaDB makes a data directory in dir and starts mariadbd on port.
func startMariaDB(dir string, port int) (*server, error) {
	mariadbd, ok1 := findProgram("mariadbd", "/usr/sbin", "/usr/local/sbin")
	installDB, ok2 := findProgram("mariadb-install-db", "/usr/bin", "/usr/local/bin")
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("MariaDB's mariadbd and mariadb-install-db are not installed (looked on PATH and in /usr/sbin): %s", installHint)
	}
	acc, err := serverAccount("mysql", "nobody")
	if err != nil {
		return nil, err
	}
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	logPath, initFile := filepath.Join(dir, "server.log"), filepath.Join(dir, "init.sql")
	password := secret()
	for _, p := range []string{data, sock, initFile} {
		if err := os.RemoveAll(p); err != nil {
			return nil, fmt.Errorf("cleaning the MariaDB folder: %w", err)
		}
	}
	for _, d := range []string{data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, fmt.Errorf("making MariaDB's folders: %w", err)
		}
	}
	// mariadb-install-db runs the server without grant tables, where no
	// user can be made: the server makes its administrator when it starts.
	// The password is hex: nothing in it needs escaping.
	init := fmt.Sprintf("CREATE USER IF NOT EXISTS '%[1]s'@'%%' IDENTIFIED BY '%[2]s';\n"+
		"GRANT ALL PRIVILEGES ON *.* TO '%[1]s'@'%%' WITH GRANT OPTION;\n", mariadbAdmin, password)
	if err := os.WriteFile(initFile, []byte(init), 0o600); err != nil {
		return nil, fmt.Errorf("writing MariaDB's init file: %w", err)
	}
	if err := own(acc, dir, data, sock, initFile); err != nil {
		return nil, err
	}
	if err := runSetup(acc, logPath, installDB,
		"--no-defaults", "--datadir="+data, "--skip-test-db", "--skip-name-resolve"); err != nil {
		return nil, err
	}
	s, err := launch(KindMariaDB, acc, logPath, syscall.SIGTERM, mariadbd,
		"--no-defaults", "--datadir="+data, "--socket="+filepath.Join(sock, "mariadbd.sock"),
		"--pid-file="+filepath.Join(dir, "mariadbd.pid"),
		"--port="+strconv.Itoa(port), "--bind-address=127.0.0.1", "--skip-name-resolve",
		"--init-file="+initFile,
		// Speed, not durability: the data goes when the tests end.
		"--skip-log-bin", "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
		"--innodb-buffer-pool-size=32M", "--max-connections=200")
	if err != nil {
		return nil, err
	}
	s.db = Database{Kind: KindMariaDB, Driver: "mysql", Host: "127.0.0.1", Port: port,
		User: mariadbAdmin, Password: password, Socket: filepath.Join(sock, "mariadbd.sock")}
	s.quote = func(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }
	if s.admin, err = sql.Open("mysql", s.db.DSN()); err != nil {
		return s.fail(fmt.Errorf("opening MariaDB: %w", err))
	}
	if err := s.waitReady(); err != nil {
		return s.fail(err)
	}
	return s, nil
}

// The driver logs failed connection attempts to stderr by default: while
// the server starts, they are expected.
func init() { _ = mysql.SetLogger(quietLogger{}) }

type quietLogger struct{}

func (quietLogger) Print(...any) {}

package sqlio

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/suggest"
)

// DefaultInsertRows bounds the rows of one multi-row INSERT (MySQL,
// MariaDB) by default.
const DefaultInsertRows = 1000

// Destination is sql_destination: its input's rows into an existing
// table.
//
//	settings:
//	  connection: warehouse
//	  table: staging.sales      # must exist: the component creates none
//	  columns:                  # optional: table column -> input column;
//	    id: sale_id             # default: every input column into the
//	    amount: total           # table column of the same name
//	  insert_rows: 1000         # MySQL/MariaDB: rows per INSERT at most
//
// PostgreSQL gets COPY (with on_error fail, one COPY for the whole input:
// all rows or none), MySQL and MariaDB multi-row INSERTs kept under the
// server's max_allowed_packet (each statement all or none; the statements
// before a failing one stay), SQL Server the bulk copy protocol (with
// on_error fail, one bulk copy for the whole input). With
// on_error ignore or redirect, each batch is written in one statement and
// when the database refuses it for a row (a constraint, a value it
// cannot take), the batch is written again row by row and each refused row
// goes to on_error with the server's message as the reason. Any other
// failure fails the component with the server's message.
type Destination struct{}

// Info implements dataflow.Type.
func (Destination) Info() dataflow.Info {
	return dataflow.Info{Doc: "writes its input into a database table (COPY, multi-row INSERT or bulk copy)",
		MinInputs: 1, MaxInputs: 1}
}

type destConfig struct {
	conn       string
	table      string
	parts      []string
	mapping    map[string]string // table column -> input column; nil: by name
	insertRows int
}

// Plan implements dataflow.Type.
func (Destination) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	s := pc.Settings
	var cfg destConfig
	cfg.conn, _ = s.RequiredString("connection", "warehouse")
	var ok bool
	if cfg.table, ok = s.RequiredString("table", "staging.sales"); ok {
		var err error
		if cfg.parts, err = splitTable(cfg.table); err != nil {
			s.Errorf("table", "%v", err)
		}
	}
	if m, ok := s.Map("columns"); ok {
		cfg.mapping = map[string]string{}
		for k, v := range m {
			str, isStr := v.(string)
			if !isStr || strings.TrimSpace(str) == "" {
				s.Errorf("columns", "%s: want the name of an input column, not %v", k, v)
				continue
			}
			cfg.mapping[k] = str
		}
		if len(m) == 0 {
			s.Errorf("columns", "the mapping is empty: map table columns to input columns, or leave columns out to map by name")
		}
	}
	cfg.insertRows = s.Int("insert_rows", DefaultInsertRows, 1, 65535)
	var in *arrow.Schema
	if len(pc.Inputs) > 0 {
		in = pc.Inputs[0].Schema
	}
	if in != nil && cfg.mapping != nil {
		names := fieldNames(in)
		for _, k := range slices.Sorted(mapsKeys(cfg.mapping)) {
			if v := cfg.mapping[k]; !slices.Contains(names, v) {
				s.Errorf("columns", "%s: the input has no column %q%s (input: %s)", k, v, didYouMean(v, names), strings.Join(names, ", "))
			}
		}
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	if pc.Checking() {
		return &dataflow.Plan{}, nil
	}
	d, db, err := database(pc.Context(), pc.Connections(), cfg.conn)
	if err != nil {
		return nil, err
	}
	tcols, err := tableColumns(pc.Context(), d, db, cfg.parts)
	if err != nil {
		return nil, fmt.Errorf("settings.table %q: %w", cfg.table, err)
	}
	m, err := mapColumns(cfg, in, tcols)
	if err != nil {
		return nil, err
	}
	return &dataflow.Plan{Runner: &destRunner{cfg: cfg, d: d, db: db, m: m, policy: pc.OnError}}, nil
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func fieldNames(s *arrow.Schema) []string {
	out := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		out[i] = f.Name
	}
	return out
}

func didYouMean(s string, known []string) string {
	if near := suggest.Closest(s, known); near != "" {
		return fmt.Sprintf(": did you mean %q?", near)
	}
	return ""
}

// tableColumn is one column of the target table.
type tableColumn struct {
	name   string
	dbType string
}

// tableColumns asks the server for the table's columns.
func tableColumns(ctx context.Context, d dialect, db *sql.DB, parts []string) ([]tableColumn, error) {
	rows, err := db.QueryContext(ctx, "SELECT * FROM "+d.quoteTable(parts)+" WHERE 1=0")
	if err != nil {
		return nil, fmt.Errorf("%v (the table must exist: sql_destination creates none)", err)
	}
	defer func() { _ = rows.Close() }()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	out := make([]tableColumn, len(types))
	for i, t := range types {
		out[i] = tableColumn{name: t.Name(), dbType: strings.ToUpper(t.DatabaseTypeName())}
	}
	return out, nil
}

// mapping is the planned columns: table column i gets input column in[i].
type mapping struct {
	table []tableColumn
	in    []int
}

func (m mapping) names() []string {
	out := make([]string, len(m.table))
	for i, c := range m.table {
		out[i] = c.name
	}
	return out
}

// mapColumns matches input columns to table columns (by name, or by the
// columns mapping), case-insensitively when no exact match exists.
func mapColumns(cfg destConfig, in *arrow.Schema, tcols []tableColumn) (mapping, error) {
	tnames := make([]string, len(tcols))
	for i, c := range tcols {
		tnames[i] = c.name
	}
	find := func(name string) int {
		if i := slices.Index(tnames, name); i >= 0 {
			return i
		}
		return slices.IndexFunc(tnames, func(t string) bool { return strings.EqualFold(t, name) })
	}
	var m mapping
	var errs []error
	pairs := [][2]string{} // table column, input column
	if cfg.mapping == nil {
		for _, f := range in.Fields() {
			pairs = append(pairs, [2]string{f.Name, f.Name})
		}
	} else {
		for _, k := range slices.Sorted(mapsKeys(cfg.mapping)) {
			pairs = append(pairs, [2]string{k, cfg.mapping[k]})
		}
	}
	used := map[int]bool{}
	for _, p := range pairs {
		ti := find(p[0])
		if ti < 0 {
			where := "settings.columns"
			if cfg.mapping == nil {
				where = fmt.Sprintf("input column %q", p[1])
			}
			errs = append(errs, fmt.Errorf("%s: table %s has no column %q%s (table: %s); map input columns to table columns with settings.columns",
				where, cfg.table, p[0], didYouMean(p[0], tnames), strings.Join(tnames, ", ")))
			continue
		}
		if used[ti] {
			errs = append(errs, fmt.Errorf("settings.columns: table column %q is mapped twice", tcols[ti].name))
			continue
		}
		used[ti] = true
		ii := in.FieldIndices(p[1])
		if len(ii) == 0 {
			errs = append(errs, fmt.Errorf("settings.columns: %s: the input has no column %q%s", p[0], p[1], didYouMean(p[1], fieldNames(in))))
			continue
		}
		m.table = append(m.table, tcols[ti])
		m.in = append(m.in, ii[0])
	}
	if len(errs) > 0 {
		return m, errors.Join(errs...)
	}
	if len(m.table) == 0 {
		return m, errors.New("no input column to write: the input has no columns")
	}
	return m, nil
}

// bulk writes rows of batches in one database's fast way.
type bulk interface {
	// stream writes every batch of in at once, all or nothing where the
	// database allows (used with on_error fail).
	stream(ctx context.Context, in dataflow.Input) error
	// write writes rows [lo, hi) of batch in one statement: all or none.
	write(ctx context.Context, batch arrow.RecordBatch, lo, hi int) error
	// chunks splits a batch into the ranges write takes.
	chunks(batch arrow.RecordBatch) [][2]int
	close() error
}

type destRunner struct {
	cfg    destConfig
	d      dialect
	db     *sql.DB
	m      mapping
	policy dataflow.ErrorPolicy
}

// Run implements dataflow.Runner.
func (r *destRunner) Run(ctx context.Context, rt dataflow.Runtime) error {
	conn, err := r.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer func() { _ = conn.Close() }()
	var b bulk
	switch r.d.kind {
	case connection.Postgres:
		b, err = newPGCopy(ctx, conn, r.cfg.parts, r.m)
	case connection.MySQL:
		b, err = newMySQLInsert(ctx, conn, r.d, r.cfg, r.m)
	default:
		b, err = newMSSQLBulk(conn, r.d, r.cfg, r.m)
	}
	if err != nil {
		return err
	}
	err = r.run(ctx, rt, b)
	if cerr := b.close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (r *destRunner) run(ctx context.Context, rt dataflow.Runtime, b bulk) error {
	in := rt.Inputs()[0]
	if r.policy == dataflow.OnErrorFail || r.policy == "" {
		if err := b.stream(ctx, in); err != nil {
			return r.fail(err)
		}
		return nil
	}
	for {
		batch, err := in.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		err = r.writeBatch(ctx, rt, b, batch)
		batch.Release()
		if err != nil {
			return err
		}
	}
}

// writeBatch writes one batch chunk by chunk; a chunk the database
// refuses for a row is written again row by row, each refused row going
// to on_error.
func (r *destRunner) writeBatch(ctx context.Context, rt dataflow.Runtime, b bulk, batch arrow.RecordBatch) error {
	for _, c := range b.chunks(batch) {
		err := b.write(ctx, batch, c[0], c[1])
		if err == nil {
			continue
		}
		if !isRowError(err) || ctx.Err() != nil {
			return r.fail(err)
		}
		for i := c[0]; i < c[1]; i++ {
			err := b.write(ctx, batch, i, i+1)
			if err == nil {
				continue
			}
			if !isRowError(err) || ctx.Err() != nil {
				return r.fail(err)
			}
			if err := rt.RejectRow(ctx, batch, i, serverMessage(err)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *destRunner) fail(err error) error {
	return fmt.Errorf("writing into table %s: %s", r.cfg.table, serverMessage(err))
}

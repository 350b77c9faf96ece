-- The tables the load writes: the rows, and a row per file loaded.
CREATE TABLE IF NOT EXISTS sales (
    id      integer PRIMARY KEY,
    region  text    NOT NULL,
    amount  numeric(12, 2)
);
CREATE TABLE IF NOT EXISTS load_log (
    execution_id text        NOT NULL,
    file         text        NOT NULL,
    rows         integer     NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (execution_id, file)
);

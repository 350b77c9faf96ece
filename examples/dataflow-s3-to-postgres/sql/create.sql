-- The tables the load writes (the customers it looks orders up in are
-- sql/customers.sql's): orders at or over the large amount, the others,
-- and a row per run with its counts.
CREATE TABLE IF NOT EXISTS customers (
    id      bigint PRIMARY KEY,
    name    text   NOT NULL,
    region  text   NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id            bigint PRIMARY KEY,
    customer_id   bigint         NOT NULL REFERENCES customers (id),
    customer_name text           NOT NULL,
    region        text           NOT NULL,
    amount        numeric(12, 2) NOT NULL,
    ordered_on    date           NOT NULL
);
CREATE TABLE IF NOT EXISTS large_orders (LIKE orders INCLUDING ALL);
CREATE TABLE IF NOT EXISTS load_log (
    execution_id text        PRIMARY KEY,
    loaded       integer     NOT NULL,
    rejected     integer     NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT now()
);

-- The rows this execution's load_log records: the total the package counted.
SELECT coalesce(sum(rows), 0)::integer FROM load_log WHERE execution_id = $1

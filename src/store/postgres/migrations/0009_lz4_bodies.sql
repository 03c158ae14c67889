-- tollbooth PostgreSQL schema v9: raw event bodies are compressed with lz4, not pglz.
-- Why: PostgreSQL compresses a body over 2 KB on every insert, inside the writer's
-- transaction, and pglz is the slowest part of it; lz4 costs a fraction of the CPU. Measured
-- with 5 KB bodies (PERFORMANCE.md): 2,013–2,084 → 2,343–2,368 unique deliveries a second at
-- 16 callers, 958 → 1,021–1,065 at one. Only rows written from now on change; older rows
-- stay readable as they are. A server before 14 (no SET COMPRESSION) or built without lz4
-- keeps pglz.
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 140000 THEN
        EXECUTE 'ALTER TABLE events ALTER COLUMN body SET COMPRESSION lz4';
    END IF;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    NULL;
END
$$;

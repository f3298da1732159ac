-- migrate:up
SELECT 1;
-- migrate:down
ALTER TABLE orders ALTER COLUMN id TYPE integer;

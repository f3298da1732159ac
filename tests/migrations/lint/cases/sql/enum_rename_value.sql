ALTER TYPE order_state RENAME VALUE 'open' TO 'opened';

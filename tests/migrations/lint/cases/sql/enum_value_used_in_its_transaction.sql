ALTER TYPE order_state ADD VALUE 'held';
UPDATE orders SET state = 'held' WHERE id = 1;

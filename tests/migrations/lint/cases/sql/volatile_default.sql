ALTER TABLE orders ADD COLUMN uid uuid DEFAULT gen_random_uuid();

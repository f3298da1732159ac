SET lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN tier text NOT NULL DEFAULT 'free';

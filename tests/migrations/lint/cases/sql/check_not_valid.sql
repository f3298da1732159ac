SET lock_timeout = '5s';
ALTER TABLE orders ADD CONSTRAINT ck_n CHECK (n > 0) NOT VALID;

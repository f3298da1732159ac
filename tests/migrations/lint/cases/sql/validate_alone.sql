SET lock_timeout = '5s';
ALTER TABLE orders VALIDATE CONSTRAINT ck_n;

CREATE INDEX ix_n ON orders (n);

ALTER TABLE orders RENAME TO purchase;

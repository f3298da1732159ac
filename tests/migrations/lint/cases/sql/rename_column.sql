ALTER TABLE orders RENAME COLUMN n TO quantity;

REINDEX INDEX ix_orders_created;

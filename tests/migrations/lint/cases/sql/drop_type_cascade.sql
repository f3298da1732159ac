DROP TYPE order_state CASCADE;

-- The database every case's SQL form runs on (tests/database/test_lint_cases.py), one
-- schema per case: the tables, types, indexes and views the cases name, with a row each.
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;
CREATE TYPE order_state AS ENUM ('open', 'paid');
CREATE DOMAIN quantity AS int;
CREATE TABLE users (id int PRIMARY KEY, bio varchar(200));
CREATE TABLE orders (
    id int NOT NULL, n int, user_id int, created timestamptz DEFAULT now(), state order_state
);
CREATE INDEX ix_orders_created ON orders (created);
CREATE TABLE settings (id int PRIMARY KEY, v text, amount quantity);
CREATE TABLE country (code text PRIMARY KEY);
CREATE TABLE booking (room int, during tstzrange);
CREATE TABLE events (id int) PARTITION BY RANGE (id);
CREATE TABLE events_2020 PARTITION OF events FOR VALUES FROM (0) TO (1000);
CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
INSERT INTO users VALUES (1, 'hi');
INSERT INTO orders (id, n, user_id, state) VALUES (1, 1, 1, 'open');
INSERT INTO settings VALUES (1, 'a', 1);
INSERT INTO events VALUES (1);

CREATE TABLE plan (id int, tier text);
CREATE INDEX ix_tier ON plan (tier);

CREATE TABLE plan (id int PRIMARY KEY, tier text NOT NULL);

CREATE TABLE plan (id int, tier text);
UPDATE plan SET tier = 'free';

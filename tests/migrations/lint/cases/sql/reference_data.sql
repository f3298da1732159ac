INSERT INTO country (code) VALUES ('FR');

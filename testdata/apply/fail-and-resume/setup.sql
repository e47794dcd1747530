CREATE TABLE users (id INT NOT NULL PRIMARY KEY, email VARCHAR(50) NOT NULL);
INSERT INTO users SELECT seq, CONCAT('u', seq, '@example.com') FROM seq_1_to_100;
UPDATE users SET email = 'shared@example.com' WHERE id IN (1, 2);

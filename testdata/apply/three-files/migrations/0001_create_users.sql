-- A new table, and an index on it while it is empty: both run directly.
CREATE TABLE users (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  motto VARCHAR(40) NOT NULL DEFAULT 'a; b' -- a ';' in a string does not end the statement
);

CREATE INDEX iname ON users (name);

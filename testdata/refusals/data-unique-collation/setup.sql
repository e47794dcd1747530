CREATE TABLE t (id INT NOT NULL PRIMARY KEY, name VARCHAR(40) COLLATE utf8mb4_bin NULL, UNIQUE KEY u_name (name));
INSERT INTO t VALUES (1, 'Alice'), (2, 'alice'), (3, 'Bob');

CREATE TABLE t (id INT NOT NULL PRIMARY KEY, name VARCHAR(40) CHARACTER SET utf8mb4 NULL);
INSERT INTO t VALUES (1, 'plain'), (2, 'café'), (3, 'emoji 😀');

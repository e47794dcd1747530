CREATE TABLE t (id INT NOT NULL PRIMARY KEY, name VARCHAR(20)) DEFAULT CHARSET=utf8mb4;
INSERT INTO t VALUES (1, 'plain'), (2, 'café ☕'), (3, 'naïve');

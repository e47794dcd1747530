CREATE TABLE t (id INT NOT NULL PRIMARY KEY, name VARCHAR(40) NULL);
INSERT INTO t VALUES (1, 'short'), (2, 'this one is too long'), (3, 'ok');

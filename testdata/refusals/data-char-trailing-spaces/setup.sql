CREATE TABLE t (id INT NOT NULL PRIMARY KEY, name VARCHAR(20) NULL);
INSERT INTO t VALUES (1, 'plain'), (2, 'trailing  '), (3, ' leading');

CREATE TABLE t (id INT NOT NULL PRIMARY KEY, email VARCHAR(40) NULL);
INSERT INTO t VALUES (1, 'a@x'), (2, 'b@x'), (3, 'a@x'), (4, NULL), (5, NULL), (6, 'b@x'), (7, 'c@x');

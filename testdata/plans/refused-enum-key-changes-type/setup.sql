CREATE TABLE t (e ENUM('zz','b','a') NOT NULL, id INT NOT NULL, PRIMARY KEY (e, id));
INSERT INTO t VALUES ('zz', 1), ('b', 2), ('a', 3);

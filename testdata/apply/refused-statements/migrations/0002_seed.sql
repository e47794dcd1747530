-- seed the first row
INSERT INTO t VALUES (1);

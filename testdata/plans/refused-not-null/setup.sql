CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a VARCHAR(10), b INT, note VARCHAR(20), email VARCHAR(50), KEY ib (b));
INSERT INTO t SELECT seq, CONCAT('r', seq), seq % 7, IF(seq % 10 = 0, 'kept', NULL), CONCAT('u', seq, '@x') FROM seq_1_to_1000;

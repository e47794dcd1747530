CREATE TABLE legacy (id INT NOT NULL PRIMARY KEY, v VARCHAR(20));
INSERT INTO legacy SELECT seq, CONCAT('v', seq) FROM seq_1_to_20;
CREATE TABLE contacts (id INT NOT NULL PRIMARY KEY, name VARCHAR(20) NOT NULL, fax VARCHAR(20));
INSERT INTO contacts SELECT seq, CONCAT('n', seq), IF(seq % 3 = 0, CONCAT('+33 1 ', seq), NULL) FROM seq_1_to_30;

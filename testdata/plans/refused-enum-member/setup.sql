CREATE TABLE t (id INT NOT NULL PRIMARY KEY, color ENUM('red','green','blue'));
INSERT INTO t VALUES (1, 'red'), (2, 'blue'), (3, 'green');

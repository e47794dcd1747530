-- A table the application already has, with rows: its changes go through
-- godwit migrate.
CREATE TABLE orders (
  id INT NOT NULL PRIMARY KEY,
  customer VARCHAR(20) NOT NULL,
  total DECIMAL(10,2) NOT NULL
);
INSERT INTO orders
  SELECT seq, CONCAT('c', seq % 7), seq * 1.5 FROM seq_1_to_200;

CREATE DATABASE IF NOT EXISTS app;
CREATE USER 'godwit'@'%' IDENTIFIED BY 'godwit';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, LOCK TABLES, PROCESS ON *.* TO 'godwit'@'%';
GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'godwit'@'%';
CREATE USER 'repl'@'%' IDENTIFIED BY 'repl';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
-- For godwit's own integration tests (they create databases and users).
CREATE USER 'godwit_test'@'%' IDENTIFIED BY 'godwit-test';
GRANT ALL PRIVILEGES ON *.* TO 'godwit_test'@'%' WITH GRANT OPTION;

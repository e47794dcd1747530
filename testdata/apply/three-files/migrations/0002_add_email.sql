-- Metadata only: godwit migrate lets the server make it instantly.
ALTER TABLE users ADD COLUMN email VARCHAR(255) NULL AFTER name;

ALTER TABLE users ADD COLUMN note VARCHAR(20) NULL;
-- Two users share an address: not unique after all.
ALTER TABLE users ADD KEY iemail (email);

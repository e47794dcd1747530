/* orders holds rows: this index is built online, through godwit migrate,
   as ALTER TABLE orders ADD INDEX. */
CREATE INDEX icustomer ON orders (customer);
ALTER TABLE users MODIFY name VARCHAR(200) NOT NULL, ADD INDEX iemail (email);

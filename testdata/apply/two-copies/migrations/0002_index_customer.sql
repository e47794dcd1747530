ALTER TABLE orders ADD INDEX icustomer (customer);

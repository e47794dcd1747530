-- Nobody has sent a fax since 2009.
ALTER TABLE contacts DROP COLUMN fax;

-- Replaced by contacts long ago.
DROP TABLE legacy;

ADD INDEX ia (a)

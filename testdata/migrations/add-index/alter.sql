ADD INDEX dtm_k (dtm, k)

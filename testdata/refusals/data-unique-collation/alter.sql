MODIFY name VARCHAR(40) COLLATE utf8mb4_general_ci NULL

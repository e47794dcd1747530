ADD UNIQUE KEY u_email (email)

MODIFY color ENUM('red','green') NULL

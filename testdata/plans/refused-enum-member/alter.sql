MODIFY color ENUM('red','green')

UPDATE orders SET n = 0;

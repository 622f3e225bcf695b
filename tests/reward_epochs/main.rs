mod cycle;

mod attacks;
mod cycle;
mod sizes;

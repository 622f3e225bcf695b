mod attacks;
mod cycle;
mod merkle_vectors;
mod sizes;

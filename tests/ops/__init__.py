"""Every public op on every engine, against NumPy and the float64 reference."""

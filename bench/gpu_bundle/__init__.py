"""The GPU benchmark's bundle: bench/gpu.py and the wheels a lent GPU machine lacks."""

"""The scaler: measure → decide → apply. `decide` is pure; measuring and applying are thin I/O."""

"""The kernel: types every package exchanges, the error tree, settings.

It imports nothing of ours, so every other package may import it."""

"""The emulator's request handlers, one module per API family."""

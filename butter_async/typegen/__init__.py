"""Classes generated from an account's content (`butter-async types`): `shapes` infers
each field's type from the values read, `emit` writes the module, `generate` reads the
content (or an emulator schema), `changes` says what a new generation changed, and
`drift` checks the content against a generated module."""

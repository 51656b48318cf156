"""curiosft's extensions of verl: the CPU platform plugin, the trainer configs, and the SFT trainer that runs
the registered method (curiosft.methods) on verl's engine."""

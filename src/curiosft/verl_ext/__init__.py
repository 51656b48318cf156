"""curiosft's extensions of verl: the CPU platform plugin and the SFT trainer with pluggable objectives."""

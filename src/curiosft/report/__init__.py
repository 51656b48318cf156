"""Paper tables and figures from per-sample evaluation records and training metrics (`curiosft report`)."""

"""Data: the normalised record schema every stage reads, the real data sets' registry and converters."""

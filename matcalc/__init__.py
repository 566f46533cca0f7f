"""matcalc: symbolic matrix calculus that shows its work."""
__version__ = "0.1.0"

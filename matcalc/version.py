"""The version, in one place: matcalc.__version__, `matcalc --version`, the wheel and the parser caches."""
__version__ = "0.1.0"

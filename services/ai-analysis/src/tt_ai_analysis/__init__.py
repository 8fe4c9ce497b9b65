"""Trade Tracker ai-analysis service."""

__version__ = "0.1.0"

"""The version of semsearch (read by the build backend and recorded in every build manifest)."""

__version__ = "0.1.0"

"""vidu-ui: a browser studio and command line for Vidu's start–end frame video generation."""

__version__ = "0.1.0"

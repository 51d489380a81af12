"""Plugins that ship with core. They register through the same hooks as any other."""

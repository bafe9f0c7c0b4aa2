"""Built-in profiles, shipped as package data (installed as nono.profiles)."""

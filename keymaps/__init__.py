"""Built-in keymaps of nono mux, shipped as package data (installed as nono.keymaps)."""

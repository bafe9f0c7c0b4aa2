"""The multiplexer: nono mux."""

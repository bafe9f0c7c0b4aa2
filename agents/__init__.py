"""Built-in agent kinds: what each agent's screen and notifications say about its state."""

"""arenactl: the user's command line for the controller."""

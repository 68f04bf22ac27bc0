"""Users: accounts, sign-in, tokens and sessions."""

"""An emulator of the Bitbucket Cloud REST API 2.0, backed by real git objects and SQLite."""

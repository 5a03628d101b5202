"""Staff web front end and public "find a centre" pages (server-rendered, no build step)."""

"""The web console: a static page and plain JavaScript modules that call the JSON API like any other client."""
